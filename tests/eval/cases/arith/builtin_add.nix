builtins.add 3 4
