# Elements and attribute values that are one and the same thunk are equal, even functions.
let
  f = x: x;
  g = f;
  inherit (builtins) elem;
in
[
  ({ a = f; } == { a = f; })
  ([ f ] == [ f ])
  (f == f)
  (elem f [ f ])
  ([ f ] == [ g ])
  ([ f ] == [ (x: x) ])
  (let h = g; in { a = h; } == { a = f; })
]
