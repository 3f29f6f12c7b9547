builtins.match "[[:space:]]*(.*)" "  x"
