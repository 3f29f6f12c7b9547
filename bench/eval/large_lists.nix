# Large lists: genList, map, filter, sort and foldl' over 200,000 elements.
let
  xs = builtins.genList (i: (i * 7919) - (i / 13) * 100000) 200000;
  ys = builtins.filter (x: x / 2 * 2 == x) (map (x: x + 1) xs);
in builtins.foldl' (a: b: a + b) 0 (builtins.sort (a: b: a < b) ys)
