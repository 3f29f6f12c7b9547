[ (builtins.ceil 1.2) (builtins.ceil (-1.2)) (builtins.ceil 3) ]
