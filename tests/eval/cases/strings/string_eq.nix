"abc" == "abc"
