builtins.elemAt [ 1 2 3 ] 1
