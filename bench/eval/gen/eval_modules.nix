# A synthetic `lib.evalModules` with N options (nixpkgs' real lib, given as LIB): 20 groups of
# options of five types, defined by three modules (plain, mkDefault, mkIf, mkForce, list and
# set merges), the whole config forced.
{ lib, n }:
let
  inherit (lib) types mkOption;
  groups = 20;
  per = n / groups;
  names = prefix: count: map (i: "${prefix}${toString i}") (lib.range 0 (count - 1));
  kind = i: lib.mod i 5;
  optionOf = i:
    let k = kind i; in
    if k == 0 then mkOption { type = types.str; default = "default-${toString i}"; }
    else if k == 1 then mkOption { type = types.int; default = i; }
    else if k == 2 then mkOption { type = types.bool; default = false; }
    else if k == 3 then mkOption { type = types.listOf types.str; default = [ ]; }
    else mkOption { type = types.attrsOf types.int; default = { }; };
  index = name: lib.toInt (lib.removePrefix "opt" name);
  forEach = f: lib.genAttrs (names "group" groups) (g:
    lib.filterAttrs (_: v: v != null)
      (lib.genAttrs (names "opt" per) (o: f (lib.toInt (lib.removePrefix "group" g)) (index o))));
  options = { options = forEach (g: i: optionOf i); };
  value = g: i:
    let k = kind i; in
    if k == 0 then "value-${toString g}-${toString i}"
    else if k == 1 then g * i
    else if k == 2 then true
    else if k == 3 then [ "a${toString i}" ]
    else { "k${toString g}" = i; };
  plain = { config = forEach (g: i: if lib.mod i 3 == 0 then value g i else null); };
  defaults = { config = forEach (g: i: if lib.mod i 3 == 1 then lib.mkDefault (value g i) else null); };
  conditional = { config, ... }: {
    config = forEach (g: i:
      let k = kind i; in
      if lib.mod i 3 != 2 then (if k == 3 || k == 4 then value (g + 1) i else null)
      else if k == 1 then lib.mkForce (i + config.group0.opt1)
      else lib.mkIf (lib.mod i 2 == 0) (value g i));
  };
in
(lib.evalModules { modules = [ options plain defaults conditional ]; }).config
