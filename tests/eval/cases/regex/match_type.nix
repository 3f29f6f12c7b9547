builtins.match 1 "x"
