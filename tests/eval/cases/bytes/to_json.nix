# toJSON of invalid UTF-8: Nix 2.8 writes the bytes through (invalid JSON), and so does makes.
builtins.toJSON (builtins.readFile ./data/latin1.txt)
