let a = 1; in with { b = 2; }; let c = 3; in a + b + c
