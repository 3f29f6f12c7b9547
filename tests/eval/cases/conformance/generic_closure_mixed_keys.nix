builtins.genericClosure { startSet = [ { key = 1; } { key = "s"; } ]; operator = x: [ ]; }
