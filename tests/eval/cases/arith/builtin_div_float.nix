builtins.div 9 2.0
