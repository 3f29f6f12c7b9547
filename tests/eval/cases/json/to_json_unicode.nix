builtins.toJSON "é☃"
