rec { a = "k"; ${a} = 1; }
