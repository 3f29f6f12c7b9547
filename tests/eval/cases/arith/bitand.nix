builtins.bitAnd 12 10
