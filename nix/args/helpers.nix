# makes' pure helpers, as makes defines them in its src/args (and the few functions of
# nixpkgs' lib they use, rewritten on builtins: makes evaluates them from its own pinned
# nixpkgs, which a project here need not have). Evaluated by makes with:
#   self: the makes arguments (makeTemplate, makeDerivation, toFileJson, projectPath, ...)
#   release: the makes release whose rules apply ("24.12")
#   templates: the text of makes' shell templates these helpers use
{ self, release, templates }:
let
  # lib.strings / lib.lists / lib.attrsets, as nixpkgs defines them.
  hasPrefix = pref: str: builtins.substring 0 (builtins.stringLength pref) str == pref;
  hasSuffix = suffix: content:
    let
      lenContent = builtins.stringLength content;
      lenSuffix = builtins.stringLength suffix;
    in lenContent >= lenSuffix
    && builtins.substring (lenContent - lenSuffix) lenContent content == suffix;
  removePrefix = prefix: str:
    let preLen = builtins.stringLength prefix;
    in if builtins.substring 0 preLen str == prefix then
      builtins.substring preLen (builtins.stringLength str - preLen) str
    else
      str;
  removeSuffix = suffix: str:
    let
      sufLen = builtins.stringLength suffix;
      sLen = builtins.stringLength str;
    in if sufLen <= sLen && suffix == builtins.substring (sLen - sufLen) sufLen str then
      builtins.substring 0 (sLen - sufLen) str
    else
      str;
  mapAttrsToList = f: attrs:
    builtins.map (name: f name attrs.${name}) (builtins.attrNames attrs);
  recursiveUpdate = lhs: rhs:
    let
      go = lhs: rhs:
        lhs // builtins.mapAttrs (name: value:
          if builtins.isAttrs value && !(value ? type && value.type == "derivation")
          && lhs ? ${name} && builtins.isAttrs lhs.${name}
          && !(lhs.${name} ? type && lhs.${name}.type == "derivation") then
            go lhs.${name} value
          else
            value) rhs;
    in go lhs rhs;
  filterAttrs = pred: set:
    builtins.listToAttrs (builtins.concatMap (name:
      let v = set.${name};
      in if pred name v then [{ inherit name; value = v; }] else [ ])
      (builtins.attrNames set));
  flatten = x:
    if builtins.isList x then builtins.concatMap (y: flatten y) x else [ x ];
  range = first: last:
    if first > last then [ ] else builtins.genList (n: first + n) (last - first + 1);
  toLower = builtins.replaceStrings upperChars lowerChars;
  toUpper = builtins.replaceStrings lowerChars upperChars;
  lowerChars = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  upperChars = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  # nixpkgs quotes every argument before mid-2023; the nixpkgs of makes 24.01 and later
  # leaves alone a string that needs no quoting.
  quotesSafeStrings = builtins.compareVersions release "24.01" < 0;
  escapeShellArg = arg:
    let string = toString arg;
    in if !quotesSafeStrings
    && builtins.match "[[:alnum:],._+:@%/-]+" string != null then
      string
    else
      "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] string}'";
  escapeShellArgs = list: builtins.concatStringsSep " " (builtins.map escapeShellArg list);
  listFilesRecursive = dir:
    flatten (mapAttrsToList (name: type:
      if type == "directory" then
        listFilesRecursive (dir + "/${name}")
      else
        dir + "/${name}") (builtins.readDir dir));
  stringToCharacters = s:
    builtins.genList (p: builtins.substring p 1 s) (builtins.stringLength s);
  sublist = list: start: end:
    builtins.map (builtins.elemAt list) (range start (end - 1));
  # `$HOME_IMPURE/.makes/state` up to 22.11, `.cache/makes/state` from 23.06 on.
  globalState = if builtins.compareVersions release "23.06" < 0 then
    "$HOME_IMPURE/.makes/state"
  else
    "$HOME_IMPURE/.cache/makes/state";
in {
  __system__ = builtins.currentSystem;
  isLinux = hasSuffix "-linux" builtins.currentSystem;
  isDarwin = hasSuffix "-darwin" builtins.currentSystem;
  # makes' `globalStateDir` and `projectStateDir` options (the latter by default the former
  # joined with `projectIdentifier`), canonicalised without a trailing `/`.
  __stateDirs__ = let
    config = self.config or { };
    global = removeSuffix "/" (config.globalStateDir or globalState);
  in {
    inherit global;
    project = removeSuffix "/"
      (config.projectStateDir or "${global}/${self.projectIdentifier}");
  };
  __shellCommands__ = builtins.toFile "template.sh" templates.shellCommands;
  __shellOptions__ = builtins.toFile "template.sh" templates.shellOptions;
  inherit hasPrefix hasSuffix removePrefix filterAttrs flatten escapeShellArg
    escapeShellArgs listFilesRecursive sublist;
  attrsMapToList = mapAttrsToList;
  attrsMerge = builtins.foldl' recursiveUpdate { };
  attrsOptional = cond: as: if cond then as else { };
  attrsGet = attrset: name: default:
    if builtins.hasAttr name attrset then builtins.getAttr name attrset else default;
  getAttr = attrset: name: default:
    if builtins.hasAttr name attrset then builtins.getAttr name attrset else default;
  listOptional = cond: elem: if cond then [ elem ] else [ ];
  fakeSha256 = "0000000000000000000000000000000000000000000000000000";
  fromJson = builtins.fromJSON;
  fromJsonFile = path: builtins.fromJSON (builtins.readFile path);
  fromToml = builtins.fromTOML;
  fromYamlFile = path: self.fromYaml (builtins.readFile path);
  sortAscii = builtins.sort (a: b: a < b);
  sortAsciiCaseless = builtins.sort (a: b: toLower a < toLower b);
  stringCapitalize = str:
    toUpper (builtins.substring 0 1 str) + builtins.concatStringsSep ""
    (builtins.tail (stringToCharacters str));
  chunks = list: n:
    let
      len = builtins.length list;
      div = len / n;
      mod = len - (len / n) * n;
      min = a: b: if a < b then a else b;
      startIndex = i: i * div + (min i mod);
      endIndex = i: (i + 1) * div + (min (i + 1) mod);
    in builtins.map (i: sublist list (startIndex i) (endIndex i)) (range 0 (n - 1));
  asContent = expr:
    if builtins.isPath expr then
      builtins.readFile expr
    else if builtins.isString expr then
      if (builtins.substring 0 11 expr) == "/nix/store/" then
        builtins.readFile expr
      else
        expr
    else
      abort "Expected a store path or a string, got: ${builtins.typeOf expr}";
  __toModuleOutputs__ = makeOutput: set:
    builtins.foldl'
    (all: one: all // (if one == { } then { } else { "${one.name}" = one.value; }))
    { } (flatten (mapAttrsToList makeOutput set));
  projectPathLsDirs = rel:
    let ls = builtins.readDir (self.projectPath rel);
    in builtins.map builtins.unsafeDiscardStringContext
    (builtins.attrNames (filterAttrs (_: value: value == "directory") ls));
  projectPathsMatching = { regex, targets }:
    let
      inTarget = target:
        let
          inStore = self.projectPath target;
          matching = builtins.filter (path: builtins.match regex path != null)
            (listFilesRecursive inStore);
        in builtins.map
        (path: builtins.unsafeDiscardStringContext (target + (removePrefix inStore path)))
        matching;
    in builtins.concatLists (builtins.map inTarget targets);
  projectSrcInStore = builtins.path {
    name = "head";
    path = self.projectSrc;
  };
  gitlabCi.rules = {
    always = { "when" = "always"; };
    branch = branch: {
      "if" = "$CI_COMMIT_BRANCH != \"${branch}\"";
      "when" = "never";
    };
    branchNot = branch: {
      "if" = "$CI_COMMIT_BRANCH == \"${branch}\"";
      "when" = "never";
    };
    notMrs = {
      "if" = "$CI_PIPELINE_SOURCE == \"merge_request_event\"";
      "when" = "never";
    };
    notSchedules = {
      "if" = "$CI_PIPELINE_SOURCE == \"schedule\"";
      "when" = "never";
    };
    notTriggers = {
      "if" = "$CI_PIPELINE_SOURCE == \"trigger\"";
      "when" = "never";
    };
    schedules = {
      "if" = "$CI_PIPELINE_SOURCE != \"schedule\"";
      "when" = "never";
    };
    titleMatching = pattern: { "if" = "$CI_COMMIT_TITLE =~ /${pattern}/"; };
    varIsDefined = var: {
      "if" = "\$${var} == null";
      "when" = "never";
    };
  };
  toFileLst = name: list:
    builtins.toFile name (builtins.concatStringsSep "\n" (list ++ [ "" ]));
  toBashArray = list:
    self.makeTemplate {
      replace.__argArray__ = escapeShellArgs list;
      name = "to-bash-array";
      template = templates.toBashArray;
    };
  toBashMap = attrset:
    self.makeTemplate {
      replace.__argMap__ = toString (mapAttrsToList
        (name: value: escapeShellArg "[${name}]=${escapeShellArg value}") attrset);
      template = templates.toBashMap;
      name = "as-bash-map";
    };
  makeEnvVars = { mapping, name }:
    self.makeTemplate {
      replace = {
        __argName__ = self.toDerivationName name;
        __argMap__ = self.toBashMap mapping;
      };
      name = "make-env-vars-for-${name}";
      template = templates.makeEnvVars;
    };
  libGit = self.makeTemplate {
    name = "lib-git";
    searchPaths.bin = [ self.__nixpkgs__.git ];
    template = templates.libGit;
  };
  # makes 24.12's (earlier releases' differ in their messages only).
  managePorts = self.makeTemplate {
    name = "manage-ports";
    replace.__argShellCommands__ = self.__shellCommands__;
    searchPaths.bin = [ self.__nixpkgs__.lsof self.__nixpkgs__.netcat ];
    template = templates.managePorts;
  };
  patchShebangs = self.makeTemplate {
    name = "patch-shebangs";
    searchPaths.bin = [ self.__nixpkgs__.findutils self.__nixpkgs__.gnused ];
    template = templates.patchShebangs;
  };
  makeDerivationParallel = { dependencies, name }:
    self.toFileJson "make-derivation-parallel-for-${name}" dependencies;
  makeScriptParallel = { commands, extraArgs ? [ ], name, help ? null }:
    self.makeScript {
      replace = {
        __argCommands__ = self.toBashArray commands;
        __argParallelArgs__ = self.toBashArray extraArgs;
      };
      entrypoint = templates.makeScriptParallel;
      name = "make-script-parallel-for-${name}";
      searchPaths.bin = [ self.__nixpkgs__.parallel ];
    };
  makeSslCertificate = { days ? 30, keyType ? "rsa:4096", name, options, ... }:
    self.makeDerivation {
      env = {
        envDays = builtins.toString days;
        envKeyType = keyType;
        envOptions = self.toBashArray (builtins.concatLists options);
      };
      builder = templates.makeSslCertificate;
      name = "make-ssl-certificate-for-${name}";
      searchPaths.bin = [ self.__nixpkgs__.openssl ];
    };
  toFileToml = name: expr:
    self.makeDerivation {
      envFiles.envAll = builtins.toJSON expr;
      builder = "yj -jt < $envAllPath > $out";
      local = true;
      inherit name;
      searchPaths.bin = [ self.__nixpkgs__.yj ];
    };
  toFileYaml = name: expr:
    self.makeDerivation {
      builder = ''
        yq -y < $envData > $out
      '';
      inherit name;
      env.envData = self.toFileJson name expr;
      local = true;
      searchPaths.bin = [ self.__nixpkgs__.yq ];
    };
  toFileJsonFromFileYaml = envSrc:
    self.makeDerivation {
      env = { inherit envSrc; };
      local = true;
      name = "to-file-json-from-file-yaml";
      searchPaths.bin = [ self.__nixpkgs__.yq ];
      builder = templates.toFileJsonFromFileYaml;
    };
}
