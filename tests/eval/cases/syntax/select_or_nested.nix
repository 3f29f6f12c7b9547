{ a.b = 1; }.a.c.d or "d"
