builtins ? stringToCharacters
