# replaceStrings, split and match see bytes: '.' matches one byte, even a Latin-1 one.
let s = builtins.readFile ./data/latin1.txt; in
[
  (builtins.replaceStrings [ (builtins.substring 3 1 s) ] [ "e" ] s)
  (builtins.replaceStrings [ "" ] [ "-" ] "é")
  (builtins.match "caf(.) (.).*" s)
  (builtins.split "(.)" (builtins.substring 3 2 s))
  (builtins.stringLength (builtins.concatStringsSep (builtins.substring 3 1 s) [ "a" "b" ]))
]
