builtins.match "[a-c]+" "abcabc"
