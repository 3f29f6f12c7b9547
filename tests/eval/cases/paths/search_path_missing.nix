<makes-surely-missing>
