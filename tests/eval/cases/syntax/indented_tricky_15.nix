''
  a ''\t b
   c
  ''