{ a = 1; }.a.b or 7
