let x = throw "no"; in 1
