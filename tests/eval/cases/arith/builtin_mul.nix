builtins.mul 3 4
