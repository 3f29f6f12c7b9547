let
  a = 1;
  b = a + c;
  c = 2;
  set = rec { x = y * 2; y = 21; z = { inherit x; }; };
in [ b set set.z.x ]
