let x = { a = x; b = [ x ]; }; in x
