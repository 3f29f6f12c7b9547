(args@{ a, ... }: args) { a = 1; z = 2; }
