builtins.hashFile "md5" ./data/a.txt
