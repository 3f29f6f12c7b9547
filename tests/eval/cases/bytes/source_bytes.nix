# A source file that is not UTF-8: bytes in a comment, strings, an indented string, a quoted
# attribute name and an interpolated string, compared with fromJSON and substring results.
# comment þÿ
{ s = "aÿb"; i = ''xéy''; n = { "kÿ" = 1; }; l = builtins.stringLength "ÿþ"; j = builtins.substring 1 1 "aÿb" == builtins.substring 1 1 (builtins.fromJSON "\"a\\u00ffb\""); names = builtins.attrNames { "kÿ" = 1; }; interp = "${"x"}ÿ"; h = builtins.hashString "sha256" "ÿ"; }
