echo from a script > $out
