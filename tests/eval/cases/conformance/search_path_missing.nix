<makes-no-such-entry>
