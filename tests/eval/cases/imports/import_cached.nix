let a = import ./lib/math.nix; b = import ./lib/math.nix; in a.double 1 == b.double 1
