{ __toString = self: "S${self.v}"; v = "1"; } + ""
