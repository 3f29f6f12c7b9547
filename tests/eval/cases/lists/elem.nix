[ (builtins.elem 2 [ 1 2 ]) (builtins.elem 5 [ 1 2 ]) ]
