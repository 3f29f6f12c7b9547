let or = 1; in { inherit or; set = { or = 2; }.or; }
