# Which built-ins give their attributes a position (unsafeGetAttrPos) as Nix 2.8: mapAttrs,
# zipAttrsWith, groupBy and fromJSON make fresh attributes with none; `//`, removeAttrs,
# intersectAttrs and listToAttrs keep or take one. nixpkgs' module system relies on mapAttrs
# dropping it (options.<generated>.declarationPositions).
let
  pos = name: set:
    let p = builtins.unsafeGetAttrPos name set;
    in if p == null then null else p // { file = baseNameOf p.file; };
in [
  (pos "a" (builtins.mapAttrs (n: v: v) { a = true; }))
  (pos "b" (builtins.mapAttrs (n: v: v) { a.b = 1; }).a)
  (pos "a" ({ a = 1; } // builtins.mapAttrs (n: v: v) { a = 2; }))
  (pos "a" (builtins.mapAttrs (n: v: v) { a = 2; } // { a = 1; }))
  (pos "a" (builtins.zipAttrsWith (n: v: v) [ { a = true; } ]))
  (pos "a" (builtins.groupBy (x: "a") [ 1 ]))
  (pos "a" (builtins.fromJSON ''{"a":1}''))
  (pos "a" (builtins.listToAttrs [ { name = "a"; value = 1; } ]))
  (pos "a" (builtins.removeAttrs { a = true; b = 1; } [ "b" ]))
  (pos "a" (builtins.intersectAttrs { a = 1; } { a = true; b = 1; }))
  (pos "a" (builtins.functionArgs ({ a }: a)))
  (pos "a" { "${"a"}" = 1; })
  (pos "a" ((args@{ a ? 1, ... }: args) { a = 2; }))
]
