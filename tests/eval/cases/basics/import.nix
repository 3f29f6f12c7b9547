let lib = import ./lib/default.nix; in [ (lib.double 21) (import ./lib).name ]
