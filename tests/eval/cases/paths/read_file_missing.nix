builtins.readFile ./data/nope
