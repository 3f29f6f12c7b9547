let s = { a = 1; b = s.a; }; in s.b
