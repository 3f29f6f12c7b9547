builtins.fromTOML "[t]\nx = true\ny = 1.5\n"
