builtins.toJSON [ 0.1 1.0 1e20 1.5e-7 ]
