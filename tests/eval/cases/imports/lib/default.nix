{ name = "lib-dir"; }
