builtins.fromTOML "a.b.c = 1"
