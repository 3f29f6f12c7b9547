builtins.match "(foo|bar)baz" "barbaz"
