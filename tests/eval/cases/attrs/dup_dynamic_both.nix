let k = "a"; in { ${k} = 1; ${k} = 2; }
