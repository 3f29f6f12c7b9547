# `<` and `>` in a bracket expression are characters (not word boundaries).
map (s: builtins.match ".*[<>\"'&].*" s) [ "org.eclipse" "a<b" "x>" "&" "it's" ]
++ [ (builtins.match "<(.*)>" "<name>") (builtins.split "[<>]" "a<b>c") ]
