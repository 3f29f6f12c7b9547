# A name of invalid UTF-8 is an error in makes (its names are text); Nix allows it.
let s = builtins.readFile ./data/latin1.txt; in
builtins.attrNames { ${s} = 1; }
