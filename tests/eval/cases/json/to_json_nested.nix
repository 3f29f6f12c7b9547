builtins.toJSON { a.b.c = [ 1 ]; }
