# Nix strings are bytes: a Latin-1 file (not UTF-8) is counted byte by byte.
let s = builtins.readFile ./data/latin1.txt; in
[ (builtins.stringLength s) (builtins.stringLength (builtins.substring 3 1 s)) ]
