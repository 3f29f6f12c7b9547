# `sort` with `<` itself as the comparator (compared directly): integers, strings, duplicates,
# and a list that still goes through the comparator (floats mixed in).
let
  ints = [ 5 (-3) 9 0 5 12 (-3) 7 1 ];
  strings = [ "b" "a" "" "ab" "B" "a" "é" "aa" ];
in {
  intsPrimop = builtins.sort builtins.lessThan ints;
  intsLambda = builtins.sort (a: b: a < b) ints;
  stringsPrimop = builtins.sort builtins.lessThan strings;
  stringsLambda = builtins.sort (x: y: x < y) strings;
  mixedNumbers = builtins.sort builtins.lessThan [ 3 1.5 2 0.5 (-1) ];
  one = builtins.sort builtins.lessThan [ 1 ];
  empty = builtins.sort (a: b: a < b) [ ];
  lazyItems = builtins.sort builtins.lessThan (builtins.genList (i: 10 - i) 11);
}
