builtins.splitVersion "1.2.3pre-4alpha"
