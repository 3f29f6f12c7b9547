{ x, y ? 3 }: x * y
