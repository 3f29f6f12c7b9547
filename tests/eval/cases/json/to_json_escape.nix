builtins.toJSON "a\"b\nc"
