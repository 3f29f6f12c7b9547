# JSON is UTF-8: invalid input is an error, as in Nix.
builtins.fromJSON (builtins.readFile ./data/latin1.txt)
