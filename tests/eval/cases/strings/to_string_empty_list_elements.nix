[ (toString [ [ ] "x" [ ] ]) (toString [ "a" [ ] "b" ]) (toString [ [ ] [ ] "c" ]) (toString [ "d" [ [ ] ] "e" ]) ]
