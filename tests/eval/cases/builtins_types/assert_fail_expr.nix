let x = 1; in assert x > 3 && true; x
