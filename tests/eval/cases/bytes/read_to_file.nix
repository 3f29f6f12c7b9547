# toFile writes the exact bytes: the store path is Nix's.
let s = builtins.readFile ./data/latin1.txt; in
[ (builtins.toFile "latin1" s) (builtins.toFile "e-acute" (builtins.substring 3 1 s)) ]
