{ a = 1; }.${null} or 2
