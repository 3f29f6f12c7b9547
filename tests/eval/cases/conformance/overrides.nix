# A rec set's __overrides replaces its attributes, also where the set's values see them.
let
  o = { a = 2; b = 3; };
in
[
  (rec { __overrides = o; x = a; a = 1; })
  (rec { "${"foo"}" = "bar"; __overrides = { bar = "qux"; }; })
  (rec { __overrides = { x = x; }; x = 1; })
  (let __overrides = { a = 2; }; a = 1; in a)
  { __overrides = { a = 2; }; a = 1; }
]
