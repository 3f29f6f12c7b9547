let x = builtins.trace "once" 1; in x + x
