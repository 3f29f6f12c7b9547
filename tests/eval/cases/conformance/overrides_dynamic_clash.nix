rec { "${"bar"}" = "bar"; __overrides = { bar = "qux"; }; }
