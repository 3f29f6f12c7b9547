let n = "a.txt"; in builtins.readFile ./data/${n}
