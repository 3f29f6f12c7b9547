builtins.match "(a*)(b*)" "aabb"
