builtins.substring 0 11 "${./data/a.txt}"
