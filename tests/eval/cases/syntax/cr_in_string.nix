"a\rb"
