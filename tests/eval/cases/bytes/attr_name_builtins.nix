# Names of bytes that are not UTF-8 through every built-in that takes or gives a name.
let s = builtins.readFile ./data/latin1.txt; in
[
  (builtins.hasAttr s { ${s} = 1; })
  (builtins.getAttr s (builtins.listToAttrs [ { name = s; value = 3; } ]))
  (builtins.attrNames (builtins.removeAttrs { ${s} = 1; x = 2; } [ s ]))
  (builtins.catAttrs s [ { ${s} = 5; } ])
  ({ ${s} = 1; } ? ${s})
  (builtins.mapAttrs (n: v: n) { ${s} = 1; })
  (builtins.zipAttrsWith (n: v: n) [ { ${s} = 1; } ])
  (builtins.groupBy (x: x) [ s ])
  (builtins.intersectAttrs { ${s} = 0; } { ${s} = 1; y = 2; })
  { ${s} = 1; b = 2; }
  (builtins.toJSON { ${s} = s; })
]
