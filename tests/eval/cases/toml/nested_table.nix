builtins.fromTOML "[a.b]\nc = [1, 2]\n"
