builtins.fromTOML "a = 1\nb = \"x\"\n"
