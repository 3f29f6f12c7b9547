# foldl' forces each step's result, but the initial accumulator only for an empty list.
[
  (builtins.foldl' (_: x: x) (throw "never forced") [ 1 2 ])
  (builtins.tryEval (builtins.foldl' (_: x: x) (throw "forced") [ ])).success
  (builtins.foldl' (a: x: a + x) 0 [ 1 2 3 ])
]
