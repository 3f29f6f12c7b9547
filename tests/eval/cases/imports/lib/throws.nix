{ a = throw "thrown from import"; }
