[ (dirOf "/a/b/c") (dirOf "/a") (dirOf "a") (dirOf "a/b") (dirOf /a/b) ]
