let x = 1; in (x: x) 2
