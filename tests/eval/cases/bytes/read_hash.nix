# Hashes are of the exact bytes, not of a UTF-8 rendering.
let s = builtins.readFile ./data/latin1.txt; in
[ (builtins.hashString "sha256" s) (builtins.hashString "md5" (builtins.substring 3 1 s)) ]
