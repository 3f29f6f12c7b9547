builtins.replaceStrings [ "o" "l" ] [ "0" "1" ] "hello world"
