builtins.match "ab+c?" "abbb"
