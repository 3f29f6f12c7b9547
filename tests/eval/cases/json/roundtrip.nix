builtins.fromJSON (builtins.toJSON { x = [ 1 "a" { y = null; } ]; })
