let x = { a = x; }; in builtins.deepSeq x 1
