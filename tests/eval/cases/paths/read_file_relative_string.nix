builtins.readFile "data/a.txt"
