# A name of bytes that are not UTF-8: Nix allows it, and so does makes.
let s = builtins.readFile ./data/latin1.txt; in
builtins.attrNames { ${s} = 1; }
