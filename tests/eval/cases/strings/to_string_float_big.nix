toString 1e20
