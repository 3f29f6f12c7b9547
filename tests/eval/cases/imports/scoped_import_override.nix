builtins.scopedImport { toString = x: "overridden"; } ./lib/uses_tostring.nix
