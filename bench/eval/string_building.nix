# String building: interpolation, concatStringsSep, replaceStrings on growing strings.
let
  parts = builtins.genList (i: "line ${toString i}: ${builtins.substring 0 5 "abcdefgh"}") 100000;
  text = builtins.concatStringsSep "\n" parts;
  replaced = builtins.replaceStrings [ "line" "abcde" ] [ "LINE" "x" ] text;
  hashed = builtins.hashString "sha256" replaced;
in builtins.stringLength replaced + builtins.stringLength hashed
