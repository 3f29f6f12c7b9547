builtins.findFile [ ] "nope"
