# `<p>` is `__findFile __nixPath "p"`: both names are looked up where it stands; a missing
# entry is an error tryEval catches (nixpkgs' impure.nix tries <nixpkgs-overlays>).
let
  throw = abort "never called";
  found = let __nixPath = [ { prefix = "here"; path = ./.; } ]; in <here/search_path_lexical.nix>;
in
[
  (builtins.tryEval <makes-no-such-entry>).success
  (let __findFile = path: name: name; in <anything>)
  (builtins.isFunction (import <nix/fetchurl.nix>))
  (builtins.baseNameOf found)
  (with { __nixPath = [ ]; }; builtins.baseNameOf <nix/fetchurl.nix>)
]
