builtins.hasContext "${./data/a.txt}"
