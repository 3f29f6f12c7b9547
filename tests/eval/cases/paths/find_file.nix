builtins.typeOf (builtins.findFile [ { prefix = "d"; path = toString ./data; } ] "d/a.txt")
