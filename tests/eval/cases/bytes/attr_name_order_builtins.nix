# Every way of building or showing a set orders names by their bytes: a Latin-1 byte (0xe9)
# before a character of four UTF-8 bytes (0xf0 ...), U+10FFFF after the byte 0xff.
let
  s = builtins.readFile ./data/latin1.txt;
  e = builtins.substring 3 1 s;
  ff = builtins.substring 5 1 s;
  names = [ "😀" ff "􏿿" e "z" "é" ];
  set = builtins.listToAttrs (map (name: { inherit name; value = name; }) names);
in {
  listToAttrs = builtins.attrValues set;
  update = builtins.attrNames ({ "😀" = 1; "􏿿" = 2; } // { ${e} = 3; ${ff} = 4; });
  zip = builtins.attrNames (builtins.zipAttrsWith (n: v: v) [ { "😀" = 1; } { ${e} = 2; } ]);
  group = builtins.attrNames (builtins.groupBy (x: x) names);
  mapped = builtins.attrNames (builtins.mapAttrs (n: v: v) set);
  selected = [ set.${e} set.${ff} set."😀" set."􏿿" ];
  json = builtins.toJSON { "😀" = 1; ${e} = 2; "􏿿" = 3; ${ff} = 4; };
  shown = builtins.toString (builtins.attrNames { "😀" = 1; ${e} = 2; });
}
