builtins.toJSON /tmp/x-nonexistent-makes
