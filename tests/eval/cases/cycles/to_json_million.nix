builtins.toJSON (builtins.foldl' (acc: _: [ acc ]) [ ] (builtins.genList (x: x) 1000000))
