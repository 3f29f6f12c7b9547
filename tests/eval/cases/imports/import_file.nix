(import ./lib/math.nix).double 21
