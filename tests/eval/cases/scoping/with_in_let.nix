let s = { q = 4; }; in with s; q
