# Deep (non-tail) recursion: 20,000 nested calls, repeated.
let f = n: if n == 0 then 0 else 1 + f (n - 1);
in builtins.foldl' (a: _: a + f 20000) 0 (builtins.genList (x: x) 100)
