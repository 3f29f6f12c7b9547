builtins.seq [ (throw "x") ] 2
