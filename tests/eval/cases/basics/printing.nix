{ float = 0.1; big = 1.0e20; int = -3; str = "a\"b"; list = [ ]; set = { }; fn = x: x; prim = builtins.map; app = builtins.map (x: x); "with space" = 1; nested.deeper.deepest = [ { } ]; }
