let unused = throw "never forced"; set = { a = 1; b = throw "not needed"; }; in [ set.a (builtins.length [ unused unused ]) ({ x = unused; } ? x) ]
