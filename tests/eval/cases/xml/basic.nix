builtins.toXML { a = 1; b = "x<&>"; c = [ null true 1.5 ]; }
