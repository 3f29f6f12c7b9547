builtins.length [ (throw "no") ]
