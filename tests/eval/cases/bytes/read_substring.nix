# Cutting and printing keep the exact bytes (nix-instantiate prints them raw inside quotes).
let s = builtins.readFile ./data/latin1.txt; in
[ (builtins.substring 3 1 s) (builtins.substring 0 6 s) s ]
