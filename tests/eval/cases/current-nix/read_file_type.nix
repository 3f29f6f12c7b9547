[ (builtins.readFileType ./README.md) (builtins.readFileType ./.) ]
