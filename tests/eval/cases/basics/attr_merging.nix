{
  a.b = 1;
  a.c = 2;
  d = { e = 1; };
  d.f = 2;
  "quoted key" = true;
  ${"dyn" + "amic"} = "yes";
  inherit (builtins) true;
}
