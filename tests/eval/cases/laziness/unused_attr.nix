{ a = 1; b = throw "no"; }.a
