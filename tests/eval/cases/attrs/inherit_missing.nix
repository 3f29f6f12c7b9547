let s = { }; in { inherit (s) x; }.x
