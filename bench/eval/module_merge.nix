# A module-system-like merge of 1,000 modules, each setting one of 1,000 options, with
# `imports`-style recursion, zipAttrsWith and a fixed point, as makes merges makes.nix modules.
let
  lib = rec {
    fix = f: let x = f x; in x;
    mergeAll = sets: builtins.zipAttrsWith (name: values: builtins.foldl' (a: b: if builtins.isAttrs a && builtins.isAttrs b then a // b else b) { } values) sets;
  };
  mkModule = i: self: {
    options."opt${toString i}" = { default = i; description = "option ${toString i}"; };
    config."opt${toString (builtins.div (i * 7) 3)}" = self.options.opt0.default or 0 + i;
    jobs."/job${toString i}" = { name = "job-${toString i}"; deps = builtins.genList (j: "/job${toString j}") (builtins.div i 100); };
  };
  modules = builtins.genList mkModule 1000;
  merged = lib.fix (self: lib.mergeAll (map (m: m self) modules));
in {
  options = builtins.length (builtins.attrNames merged.options);
  config = builtins.foldl' (a: b: a + b) 0 (builtins.attrValues merged.config);
  jobs = builtins.length (builtins.concatMap (j: j.deps) (builtins.attrValues merged.jobs));
}
