builtins.readFile "${toString ./data/a.txt}"
