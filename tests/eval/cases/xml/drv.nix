builtins.toXML { type = "derivation"; drvPath = "/d"; outPath = "/o"; name = "n"; }
