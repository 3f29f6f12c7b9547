# Selections of values already evaluated, used again as list elements and attribute values:
# `==` and printing tell them apart as Nix 2.8 does (functions never equal, lists of one or
# two elements not «repeated», sets and longer lists «repeated»).
let
  s = {
    f = x: x;
    one = [ 1 ];
    two = [ 1 2 ];
    three = [ 1 2 3 ];
    set = { a = 1; };
    n = 5;
    str = "x";
    g = { h = y: y; l = [ 0 ]; m = [ 0 1 2 ]; };
  };
  forced = builtins.deepSeq [ s.one s.two s.three s.set s.n s.str s.g.l s.g.m ]
    (builtins.seq s.f (builtins.seq s.g.h true));
in
assert forced;
{
  functions = [ ([ s.f ] == [ s.f ]) ({ a = s.f; } == { a = s.f; }) ([ s.g.h ] == [ s.g.h ]) ];
  lists = [ s.one s.one s.two s.two s.three s.three s.g.l s.g.l s.g.m s.g.m ];
  sets = [ s.set s.set { a = s.set; b = s.set; } ];
  scalars = [ ([ s.n ] == [ s.n ]) ([ s.str ] == [ s.str ]) s.n s.str ];
  lists_equal = [ ([ s.one ] == [ s.one ]) ([ s.three ] == [ s.three ]) ];
  missing = [ (s.nope or 7) (s.g.nope or 8) ];
}
