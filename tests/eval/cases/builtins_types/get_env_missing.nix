builtins.getEnv "MAKES_SURELY_UNSET_VAR"
