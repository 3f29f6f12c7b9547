builtins.builtins.builtins.add 1 2
