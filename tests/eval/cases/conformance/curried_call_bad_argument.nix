# A curried call whose first argument does not match its pattern fails as Nix 2.8 does (the
# function passed as an argument, so that Nix names it as makes does: anonymous).
(g: g { x = 1; z = 2; } 3) ({ x }: y: x + y)
