(import ./lib/throws.nix).a
