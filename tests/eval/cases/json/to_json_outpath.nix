builtins.toJSON { outPath = "/o"; a = 1; }
