with { a = 1; b = 2; }; with { a = 3; }; [ a b ]
