builtins.hashString "md5" "abc"
