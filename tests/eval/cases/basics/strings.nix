let name = "world"; in [
  "hello ${name}"
  ''
    indented
      more
    done ${name}
  ''
  "escapes: \" \\ \n \t \${not}"
  (builtins.concatStringsSep ", " [ "a" "b" "c" ])
  (builtins.replaceStrings [ "a" "b" ] [ "1" "2" ] "aabbcc")
  (builtins.substring 2 3 "abcdefg")
  (builtins.stringLength "four")
  (toString [ 1 "a" null true false 1.5 ])
]
