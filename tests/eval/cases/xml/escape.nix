builtins.toXML "a\"b\nc\td"
