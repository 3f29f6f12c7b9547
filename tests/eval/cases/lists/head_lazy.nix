builtins.head [ 1 (throw "x") ]
