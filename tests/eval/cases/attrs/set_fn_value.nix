builtins.attrNames { f = x: x; g = 1; }
