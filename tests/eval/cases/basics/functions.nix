let
  f = { a, b ? a + 1, ... }@args: [ a b (args.c or "none") ];
  g = x: y: x * y;
in [ (f { a = 1; }) (f { a = 1; b = 5; c = "c"; }) (g 6 7) (builtins.functionArgs f) ]
