with builtins; [
  (toJSON { a = [ 1 2.5 "x" null true ]; b = { c = "d"; }; })
  (fromJSON ''{"x": [1, 2, {"y": null}], "z": 1.5, "s": "t"}'')
]
