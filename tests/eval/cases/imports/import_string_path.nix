import "${toString ./lib/math.nix}"
