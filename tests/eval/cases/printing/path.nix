/a/b
