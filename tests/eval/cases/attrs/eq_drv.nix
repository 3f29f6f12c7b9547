{ type = "derivation"; outPath = "x"; a = 1; } == { type = "derivation"; outPath = "x"; a = 2; }
