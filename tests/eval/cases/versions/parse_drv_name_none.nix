builtins.parseDrvName "nodash"
