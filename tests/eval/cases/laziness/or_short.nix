true || throw "no"
