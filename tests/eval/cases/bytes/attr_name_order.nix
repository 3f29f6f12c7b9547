# Names of bytes that are not UTF-8 sort by their bytes, as Nix sorts names: a Latin-1 byte
# (0xe9) before a character of four UTF-8 bytes (0xf0 ...), and a real U+10FFFF kept apart
# from the byte 0xff.
let s = builtins.readFile ./data/latin1.txt; in
builtins.attrNames { ${s} = 1; ${builtins.substring 3 1 s} = 0; "😀" = 2; "􏿿" = 3; ${builtins.substring 5 1 s} = 4; }
