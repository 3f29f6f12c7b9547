[ (1 + 2 * 3) (7 / 2) (7.0 / 2) (1 - 5) (2.5 * 2) (1 < 2) ("a" < "b") ([ 1 2 ] < [ 1 3 ]) (1 == 1.0) (builtins.div 9 4) (builtins.ceil 1.2) (builtins.floor (-1.2)) ]
