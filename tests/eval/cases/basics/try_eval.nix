[ (builtins.tryEval (throw "no")) (builtins.tryEval 1) (builtins.tryEval (assert false; 1)) ]
