[ (builtins ? map) (builtins ? nonexistent) (builtins ? currentSystem) ]
