''
  line one
    line two
  ''
