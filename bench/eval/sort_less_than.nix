# `builtins.sort builtins.lessThan` on 200,000 pseudo-random integers, and the same with a
# lambda comparator `a: b: a < b`.
let
  n = 200000;
  xs = builtins.genList (i: builtins.bitXor (i * 7919) 1234567 - (i * 31) / 7) n;
  sorted = builtins.sort builtins.lessThan xs;
  byLambda = builtins.sort (a: b: a < b) xs;
in [ (builtins.head sorted) (builtins.elemAt sorted (n / 2)) (builtins.elemAt byLambda (n - 1)) (builtins.length byLambda) ]
