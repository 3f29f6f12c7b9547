builtins.match "a(b)c" "abd"
