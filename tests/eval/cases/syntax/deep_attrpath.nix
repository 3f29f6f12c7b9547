{ a.b.c.d.e.f = 1; }.a.b.c.d.e.f
