({ a ? throw "no" }: 1) { }
