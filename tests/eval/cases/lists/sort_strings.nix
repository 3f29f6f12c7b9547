builtins.sort builtins.lessThan [ "b" "a" "c" ]
