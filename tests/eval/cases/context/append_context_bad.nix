builtins.appendContext "a" { "/tmp/x" = { path = true; }; }
