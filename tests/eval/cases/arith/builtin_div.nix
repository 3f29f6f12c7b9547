builtins.div 9 2
