builtins.typeOf builtins.nixVersion
