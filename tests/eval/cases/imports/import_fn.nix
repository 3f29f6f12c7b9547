import ./lib/fn.nix { x = 2; }
