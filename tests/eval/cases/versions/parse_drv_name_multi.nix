builtins.parseDrvName "a-b-c"
