{ a = nope; }
