let x = "static"; in [
  (with { x = "with"; }; x)
  (with { y = 1; }; with { y = 2; }; y)
  (with { a = 1; }; a + (with { b = 2; }; a + b))
]
