let e = [ ]; s = { }; l = [ 1 ]; in [ e e s s l l { inherit l; } ]
