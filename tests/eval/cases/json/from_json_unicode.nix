builtins.fromJSON "\"\\u00e9\""
