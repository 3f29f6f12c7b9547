# Store paths as Nix 2.8 computes them: path literals, builtins.path (name, filter),
# filterSource, toFile (with a reference), and the context they carry.
let
  tree = ./store_tree;
  noSkip = p: t: baseNameOf p != "skipme";
  foo = builtins.toFile "foo" "bar";
in [
  "${tree}"
  "${./store_tree/a.txt}"
  (builtins.path { path = tree; name = "renamed"; })
  (builtins.path { path = tree; filter = noSkip; })
  (builtins.filterSource (p: t: t != "symlink") tree)
  foo
  (builtins.toFile "ref" "x ${foo}")
  (builtins.hasContext "${tree}")
  (builtins.attrNames (builtins.getContext or (x: { }) "${tree}"))
]
