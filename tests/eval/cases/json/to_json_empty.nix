builtins.toJSON [ { } [ ] ]
