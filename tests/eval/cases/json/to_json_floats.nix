# Floats in toJSON as Nix 2.8 writes them: C++'s default stream format, six significant digits.
builtins.toJSON [ 0.1 1.0 (1 / 3.0) 100.0 1.0e20 1.5e-7 123456789.123 (-2.5) 0.0 (0.0 - 0.0) ]
