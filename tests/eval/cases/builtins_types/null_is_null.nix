builtins.isNull 1
