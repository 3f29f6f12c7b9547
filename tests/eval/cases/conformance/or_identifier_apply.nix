# `f or` is `f` applied to the variable `or` (Nix's grammar keeps this for nixpkgs' old `or`).
let
  or = x: x;
  f = g: g 1;
in
[ (map or [ 1 2 ]) (f or) (let or = 3; in [ (x: x) or ]) ({ a = 2; }.a or (x: x) or) ]
