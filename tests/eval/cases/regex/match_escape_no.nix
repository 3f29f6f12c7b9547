builtins.match "a\\.b" "axb"
