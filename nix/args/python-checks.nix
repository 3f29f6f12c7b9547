# makes' Python checks, following makes' src/args (lint-python, lint-python-imports,
# test-python) release by release, with makes' own builder and entrypoint
# (templates/python-lint*.sh, templates/python-test.sh). Evaluated by makes with:
#   self: the makes arguments (makeDerivation, makeScript, makeSearchPaths, __nixpkgs__, ...)
#   release: the makes release whose rules apply ("24.12")
#   templates: the text of the templates
# makes runs the tools from a Python environment of its own lock file (pinned PyPI sources
# before 24.01, a poetry.lock after), built for the Python version the project names; here
# they are the package set's: `python<version>Packages.{mypy,prospector,import-linter,pytest}`,
# as securePythonWithBandit takes bandit. The versions each release offers are makes' own.
{ self, release, templates }:
let
  inherit (self) __nixpkgs__ makeDerivation makeScript makeSearchPaths;
  before = r: builtins.compareVersions release r < 0;

  # The Python versions of each release's lock files (src/args/<name>/pypi-sources-X.yaml);
  # from 24.01 one environment, for 3.11.
  lintVersions =
    if before "22.09" then [ "3.7" "3.8" "3.9" ]
    else if before "22.11" then [ "3.7" "3.8" "3.9" "3.10" ]
    else [ "3.8" "3.9" "3.10" "3.11" ];
  testVersions =
    if before "22.03" then [ "3.6" "3.7" "3.8" "3.9" ]
    else lintVersions;

  # The package set's Python packages for `version`, after checking that the release offers it.
  pythonPackages = fn: versions: version:
    if builtins.elem version versions then
      __nixpkgs__."python${builtins.replaceStrings [ "." ] [ "" ] version}Packages"
    else
      throw "${fn}: makes ${release} has no python '${toString version}': it offers ${
        builtins.concatStringsSep ", " versions}";

  # `args` checked against the formals makes' function of this release has.
  checked = fn: formals: args:
    let
      unexpected = builtins.filter (a: !(builtins.elem a formals)) (builtins.attrNames args);
      missing = builtins.filter (a: !(args ? ${a})) formals;
    in if unexpected != [ ] then
      throw "${fn} called with unexpected argument '${builtins.head unexpected}'"
    else if missing != [ ] then
      throw "${fn} called without required argument '${builtins.head missing}'"
    else args;

  # Before 21.10 (21.11 for lintPythonImports) extra sources were a list of search-path
  # derivations; then `searchPaths`, an argument of makeSearchPaths.
  extraSearchPaths = a: if a ? extraSources then a.extraSources else [ (makeSearchPaths a.searchPaths) ];
  searchPathsFormal = since: if before since then "extraSources" else "searchPaths";

  lintPython = args:
    let
      a = checked "lintPython" ([ "name" "settingsMypy" "settingsProspector" "src"
        (searchPathsFormal "21.10") ] ++ (if before "24.01" then [ "python" ] else [ ])) args;
      pkgs = if before "24.01" then pythonPackages "lintPython" lintVersions a.python
        else __nixpkgs__.python311Packages;
    in makeDerivation {
      env = {
        envSettingsMypy = a.settingsMypy;
        envSettingsProspector = a.settingsProspector;
        envSrc = a.src;
      };
      name = "lint-python-module-for-${a.name}";
      searchPaths = {
        bin = [ __nixpkgs__.findutils pkgs.mypy pkgs.prospector ];
        source = extraSearchPaths a;
      };
      builder = templates.pythonLint;
    };

  lintPythonImports = args:
    let
      a = checked "lintPythonImports" [ "config" "name" "src" (searchPathsFormal "21.11") ] args;
      # makes' lock file is for 3.9 before 23.04, then 3.11.
      pkgs = if before "23.04" then __nixpkgs__.python39Packages else __nixpkgs__.python311Packages;
    in makeDerivation {
      builder = templates.pythonLintImports;
      env = {
        envConfig = a.config;
        envSrc = a.src;
      };
      name = "lint-python-imports-for-${a.name}";
      searchPaths = {
        bin = [ pkgs.import-linter ];
        source = extraSearchPaths a;
      };
    };

  testPython = args:
    let
      a = checked "testPython" ([ "extraFlags" "extraSrcs" "name" "project" "searchPaths" "src" ]
        ++ (if before "24.01" then [ "python" ] else [ ])) args;
      pkgs = if before "24.01" then pythonPackages "testPython" testVersions a.python
        else __nixpkgs__.python311Packages;
    in makeScript {
      name = "test-python-for-${a.name}";
      replace = {
        __argExtraFlags__ = self.toBashArray a.extraFlags;
        __argExtraSrcs__ = self.toBashMap a.extraSrcs;
        __argProject__ = a.project;
        __argSrc__ = a.src;
      };
      entrypoint = templates.pythonTest;
      searchPaths = {
        bin = [ pkgs.pytest ];
        source = [ (makeSearchPaths a.searchPaths) ];
      };
    };
in {
  inherit lintPython lintPythonImports testPython;
}
