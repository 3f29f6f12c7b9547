# `builtins.warn` (Nix 2.23): the message on stderr, the second argument as the value.
[ (builtins.warn "careful" 1) (builtins ? warn) ]
