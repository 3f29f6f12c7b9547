# Large attribute sets: listToAttrs, mapAttrs, // and lookups over 50,000 names.
let
  names = builtins.genList (i: "attr${toString i}") 50000;
  set = builtins.listToAttrs (map (n: { name = n; value = builtins.stringLength n; }) names);
  doubled = builtins.mapAttrs (n: v: v * 2) set;
  merged = set // doubled // { extra = 1; };
in builtins.foldl' (a: n: a + merged.${n}) 0 (builtins.attrNames merged)
