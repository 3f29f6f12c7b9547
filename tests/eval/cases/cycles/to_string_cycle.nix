let x = [ x ]; in toString x
