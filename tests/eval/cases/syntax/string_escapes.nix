"a\tb\nc\\d\"e\$f"
