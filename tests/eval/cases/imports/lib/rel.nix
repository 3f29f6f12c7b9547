import ./math.nix
