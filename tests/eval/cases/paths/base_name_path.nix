baseNameOf ./data/a.txt
