import ./lib/rel.nix
