[ (builtins.compareVersions "2.3pre1" "2.3") (builtins.compareVersions "2.3" "2.3pre1") (builtins.compareVersions "1.0a" "1.0.1") ]
