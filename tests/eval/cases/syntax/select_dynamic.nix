let n = "x"; in { x = 4; }.${n}
