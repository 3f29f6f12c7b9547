builtins.match "[^a]+" "bcd"
