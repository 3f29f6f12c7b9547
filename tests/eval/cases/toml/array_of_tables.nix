builtins.fromTOML "[[p]]\nn = 1\n[[p]]\nn = 2\n"
