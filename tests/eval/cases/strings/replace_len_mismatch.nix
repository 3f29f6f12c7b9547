builtins.replaceStrings [ "a" ] [ ] "a"
