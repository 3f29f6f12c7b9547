'''
  one '''' two
''