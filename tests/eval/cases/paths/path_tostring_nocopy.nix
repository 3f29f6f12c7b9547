builtins.hasContext (toString ./data/a.txt)
