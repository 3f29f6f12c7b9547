[ (builtins.compareVersions "a" "b") (builtins.compareVersions "1.a" "1.1") (builtins.compareVersions "" "1") ]
