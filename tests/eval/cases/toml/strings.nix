builtins.fromTOML "s = 'lit\\'\nm = \"\"\"\nml\"\"\"\n"
