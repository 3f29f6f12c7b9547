# Control characters in toJSON as Nix 2.8 escapes them: \n \r \t by name, every other one
# (backspace and form feed too) as \u00XX; DEL and non-ASCII as they are.
builtins.toJSON (builtins.fromJSON ''"\u0001\b\f\n\r\t\u001f\u007f é"'')
