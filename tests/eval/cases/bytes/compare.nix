# Strings compare bytewise: 0xE9 sorts after every ASCII byte and equal bytes are equal.
let
  s = builtins.readFile ./data/latin1.txt;
  t = builtins.readFile ./data/latin1-other.txt;
in [
  (s < "cafz") (s > "caf") (builtins.substring 0 4 s == builtins.substring 0 4 t)
  (builtins.substring 3 1 s == "é") (builtins.lessThan "é" (builtins.substring 3 1 s))
  (builtins.sort builtins.lessThan [ t "café" "cafz" ])
]
