with builtins; let s = { b = 2; a = 1; c = 3; }; in [
  (attrNames s) (attrValues s)
  (removeAttrs s [ "a" ])
  (listToAttrs [ { name = "x"; value = 1; } { name = "x"; value = 2; } ])
  (mapAttrs (n: v: "${n}${toString v}") s)
  (intersectAttrs { a = 0; } s)
  (catAttrs "a" [ { a = 1; } { b = 2; } { a = 3; } ])
  (zipAttrsWith (n: vs: vs) [ { a = 1; } { a = 2; b = 3; } ])
  (hasAttr "a" s) (getAttr "b" s) (s ? a) (s ? z) (s.z or "default")
  (s // { a = 10; d = 4; })
]
