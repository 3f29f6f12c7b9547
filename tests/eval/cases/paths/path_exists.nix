[ (builtins.pathExists ./data/a.txt) (builtins.pathExists ./data/nope) (builtins.pathExists ./data) ]
