builtins.parseDrvName "foo-bar-1.0-beta"
