builtins.typeOf __curPos
