./. + "/data/a.txt" == ./data/a.txt
