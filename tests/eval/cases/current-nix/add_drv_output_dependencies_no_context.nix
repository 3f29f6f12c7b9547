builtins.addDrvOutputDependencies "text"
