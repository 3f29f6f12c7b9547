builtins.match "^abc$" "abc"
