# builtins.convertHash (Nix 2.19), which nixpkgs' lib probes for.
let
  sha256 = builtins.hashString "sha256" "makes";
in
map (toHashFormat: builtins.convertHash { hash = sha256; hashAlgo = "sha256"; inherit toHashFormat; })
  [ "base16" "nix32" "base32" "base64" "sri" ]
++ [ (builtins.convertHash { hash = "sha256-${builtins.convertHash { hash = sha256; hashAlgo = "sha256"; toHashFormat = "base64"; }}"; toHashFormat = "base16"; } == sha256) ]
