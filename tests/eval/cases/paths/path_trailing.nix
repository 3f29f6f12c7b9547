builtins.typeOf /a/b/
