import ./lib/undefined.nix
