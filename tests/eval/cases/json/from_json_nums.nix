builtins.fromJSON "[1, -2, 1.0, 1e3, 1.5E-2]"
