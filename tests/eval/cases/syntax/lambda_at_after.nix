({ a, ... }@args: args.z) { a = 1; z = 2; }
