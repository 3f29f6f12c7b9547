builtins.addErrorContext "ctx" 1
