builtins.fromJSON "123456789012"
