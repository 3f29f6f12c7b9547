let x = [ x ]; in [ (x == x) (x < x) ]
