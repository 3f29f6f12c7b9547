builtins.div 9 0
