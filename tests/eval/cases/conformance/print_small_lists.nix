# Nix 2.8 keeps a list of one or two elements inside its value: the printed (copied) value is
# not the list its elements hold.
let
  x = [ x ];
  y = [ y y ];
  z = [ z z z ];
  a = [ 1 ];
  f = v: v;
in
[ x y z [ a a ] { p = a; q = a; } [ (f a) a ] (let w = [ w ]; in w) ]
