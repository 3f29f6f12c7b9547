let x = { a = x; }; y = { a = y; }; in x == y
