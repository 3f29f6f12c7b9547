all
exclude_rule 'MD024'
rule 'MD007', :indent => 3
