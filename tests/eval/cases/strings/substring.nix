[ (builtins.substring 0 3 "hello") (builtins.substring 3 100 "hello") (builtins.substring 1 (-1) "hello") (builtins.substring 10 2 "hello") ]
