builtins.hasContext "a"
