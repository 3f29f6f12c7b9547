with builtins; [ (typeOf 1) (typeOf 1.0) (typeOf "s") (typeOf null) (typeOf [ ]) (typeOf { }) (typeOf (x: x)) (typeOf ./types.nix) (typeOf true) (isAttrs { }) (isList [ ]) (isFunction map) ]
