let x = "v"; in ''
  ${x}
   ${x}
''
