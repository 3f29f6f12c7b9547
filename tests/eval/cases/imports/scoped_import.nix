builtins.scopedImport { x = 40; } ./lib/scoped.nix
