builtins.typeOf (dirOf ./data/a.txt)
