[
  (builtins.genericClosure {
    startSet = [ { key = [ 1 ]; } { key = [ 1 ]; } { key = [ 0 1 ]; } { key = [ ]; } ];
    operator = x: [ ];
  })
  (builtins.genericClosure {
    startSet = [ { key = 1; } { key = 1.0; } ];
    operator = x: if x.key < 4 then [ { key = x.key + 1.0; } ] else [ ];
  })
]
