builtins.fromJSON "\"s\""
