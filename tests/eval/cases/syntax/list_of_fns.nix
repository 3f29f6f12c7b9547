map (f: f 2) [ (x: x * 2) (x: x + 1) ]
