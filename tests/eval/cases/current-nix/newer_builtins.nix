# Built-ins of newer Nix: `break` (no debugger: its argument), `traceVerbose` (no
# trace-verbose setting: its second argument, nothing printed) and `addDrvOutputDependencies`
# (a plain `.drv` path's context becomes the derivation with all its outputs).
let
  drv = derivation { name = "x"; builder = "/bin/sh"; system = "x86_64-linux"; };
  plain = builtins.unsafeDiscardOutputDependency drv.drvPath;
in
[
  (builtins.break 3)
  (builtins.traceVerbose (throw "not forced") 4)
  (builtins.getContext plain)
  (builtins.getContext (builtins.addDrvOutputDependencies plain))
  (builtins.addDrvOutputDependencies plain == drv.drvPath)
  (builtins.addDrvOutputDependencies drv.drvPath == drv.drvPath)
]
