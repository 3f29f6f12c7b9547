# Concatenating a list with empty ones gives that list itself, as Nix 2.8 shares it: printing
# shows the copies as repeated. Lists of one or two are held in their value, so they are not.
let
  l = [ 1 2 3 ];
  short = [ 1 ];
in
[
  l
  (l ++ [ ])
  ([ ] ++ l)
  (builtins.concatLists [ [ ] l [ ] ])
  (builtins.concatLists [ l l ])
  short
  (short ++ [ ])
  [ ]
  ([ ] ++ [ ])
  (builtins.concatLists [ ])
]
