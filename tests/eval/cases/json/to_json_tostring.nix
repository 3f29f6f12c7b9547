builtins.toJSON { __toString = s: "str"; }
