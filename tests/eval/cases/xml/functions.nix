builtins.toXML [ (x: x) ({ a, b ? 1, ... }: a) ({ a }@s: a) builtins.add ]
