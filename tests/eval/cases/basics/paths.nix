[ (baseNameOf ./paths.nix) (builtins.pathExists ./paths.nix) (builtins.pathExists ./nope) (builtins.readFile ./data.txt) (./. + "/data.txt" == ./data.txt) ]
