builtins.typeOf ./x
