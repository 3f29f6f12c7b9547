[ (builtins.floor 1.8) (builtins.floor (-1.2)) (builtins.floor 3) ]
