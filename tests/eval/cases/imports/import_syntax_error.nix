import ./lib/broken.nix
