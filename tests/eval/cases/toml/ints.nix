builtins.fromTOML "h = 0xff\no = 0o17\nb = 0b101\nu = 1_000\n"
