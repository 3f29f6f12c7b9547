/a + "${./data/a.txt}"
