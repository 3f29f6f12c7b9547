# A stand-in for nixpkgs under makes' own evaluator, for listing a project's jobs offline:
# `lib` is nixpkgs' real lib; every package is a lazy dummy. Listing needs each output only
# in weak head normal form (the module system checks that a definition exists, not what it
# builds), so a dummy that is a derivation, a function and a set of every name at once is
# enough. Nix sets are closed, hence NAMES: every name the sources select (`.name`) or
# inherit, which expected-jobs.sh gathers from makes' source and the project.
{ libSrc, names }:
{ system ? builtins.currentSystem, config ? { }, overlays ? [ ], ... }:
let
  lib = import libSrc;

  # A package (or package set, or function) named PATH.
  dummy = path:
    let
      self = names' (p: n: dummy "${p}.${n}") path // {
        type = "derivation";
        name = path;
        pname = path;
        version = "0";
        outPath = "/nix/store/00000000000000000000000000000000-${safe path}";
        drvPath = "/nix/store/00000000000000000000000000000000-${safe path}.drv";
        outputs = [ "out" ];
        out = self;
        all = [ self ];
        meta = { };
        passthru = { };
        # Called with anything, it answers another dummy.
        __functor = _: _: dummy "${path}()";
        override = _: self;
        overrideAttrs = _: self;
        overridePythonAttrs = _: self;
        overrideDerivation = _: self;
      };
    in self;
  names' = f: path: builtins.listToAttrs (map (name: {
    inherit name;
    value = f path name;
  }) names);
  safe = builtins.replaceStrings [ "(" ")" ] [ "_" "_" ];

  # The few packages whose value (not only their presence) matters to makes' own code.
  base = self:
    names' (_: name: dummy name) "" // {
      inherit lib system config;
      stdenv = dummy "stdenv" // {
        isLinux = true;
        isDarwin = false;
        inherit system;
        hostPlatform = lib.systems.elaborate system;
        buildPlatform = lib.systems.elaborate system;
      };
      hostPlatform = lib.systems.elaborate system;
      buildPlatform = lib.systems.elaborate system;
      pkgs = self;
    };
in lib.fix (lib.foldl' (lib.flip lib.extends) base overlays)
