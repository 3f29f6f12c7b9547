builtins.sub 3 4
