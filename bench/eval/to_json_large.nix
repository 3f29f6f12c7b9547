# `builtins.toJSON` of a large set: 50,000 attributes holding strings, numbers, lists and
# nested sets; the result's length and hash are printed.
let
  item = i: {
    name = "item-${toString i}";
    index = i;
    ratio = i / 3.0;
    enabled = builtins.bitAnd i 1 == 0;
    tags = [ "t${toString (builtins.bitAnd i 7)}" "escaped \"quote\"\n" null ];
    nested = { depth = 1; path = "/a/b/${toString i}"; };
  };
  big = builtins.listToAttrs (builtins.genList (i: { name = "k${toString i}"; value = item i; }) 50000);
  json = builtins.toJSON big;
in [ (builtins.stringLength json) (builtins.hashString "sha256" json) ]
