# Functions of several arguments called with all of them at once (`f a b`, `f a b c d`),
# with patterns, a function returning another function, and more arguments than the call
# path binds at once.
let
  add = a: b: a + b;
  add4 = a: b: c: d: a + b + c + d;
  add5 = a: b: c: d: e: a + b + c + d + e;
  named = { x, y ? 10 }: z: x + y + z;
  named2 = a: { x, ... }@args: b: [ a x b (args.extra or null) ];
  indirect = a: add a;
  const = a: _: a;
  lib = { inherit add add4; };
in
[
  (add 1 2)
  (add4 1 2 3 4)
  (add5 1 2 3 4 5)
  (named { x = 1; } 2)
  (named { x = 1; y = 2; } 3)
  (named2 1 { x = 2; extra = 3; } 4)
  (indirect 3 4)
  (const 1 (throw "never"))
  (lib.add 5 6)
  (lib.add4 1 1 1 1)
  (map (add 1) [ 1 2 ])
  (builtins.foldl' add 0 [ 1 2 3 ])
]
