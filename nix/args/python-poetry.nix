# makes' Python environments of a poetry project (24.x): makePythonPoetryEnvironment (24.02+)
# and makePythonEnvironment (24.01+, which makes builds with it since 24.02), following makes'
# src/args/make-python-environment and make-python-poetry-environment. makes hands the project
# to poetry2nix's `mkPoetryEnv` (fetched from GitHub during evaluation, and needing nixpkgs'
# Python infrastructure); here its work over the lock file is ported in Nix:
# - the packages are those poetry2nix puts in the environment: the project's dependencies
#   (`tool.poetry.dependencies`, the `dev` group, `dev-dependencies`, PEP 621
#   `project.dependencies`, optional ones included as with extras "*") and, through
#   poetry.lock's `dependencies` (and the `extras` they ask for), everything they need;
# - each package's file is the lock's: with `preferWheels` (makes' default) the best wheel for
#   CPython <version> on x86_64 Linux (the interpreter's own tag, then abi3, then pure
#   Python), else the sdist; fetched with `fetchUrl` against the lock's hash from PyPI's
#   predictable URL `files.pythonhosted.org/packages/<python tag or "source">/<l>/<name>/<file>`
#   (poetry2nix predicts it too, falling back to PyPI's JSON API, which a fixed URL cannot),
#   or from the package's `url` source; a `file` source is the project's own file, and a
#   `directory` or `git` source (`builtins.fetchGit` of the locked commit) is the tree pip
#   builds the package from, required as `name @ file://TREE`; a `legacy` source's file is
#   the one its index page links (the page is read during evaluation);
# - pip installs them offline into a venv (the builder of makePythonPypiEnvironment), each
#   line carrying the markers of the lock's dependency edges, which pip evaluates.
# `overrides` is applied as poetry2nix applies it (`self: super: { ... }` over the packages):
# a package overridden to `null` is left out; `overridePythonAttrs`/`overrideAttrs` keep the
# package (they change how Nix would build it; pip installs the same file).
# Evaluated by makes with `{ self, release, templates }` (see python.nix).
{ self, release, templates }:
let
  inherit (builtins)
    attrNames concatLists concatStringsSep elem elemAt filter foldl' genericClosure head
    isAttrs isList isString length listToAttrs map match replaceStrings split substring;

  versions = [ "3.9" "3.10" "3.11" "3.12" ];
  interpreter = fn: version:
    if elem version versions then
      self.__nixpkgs__."python${replaceStrings [ "." ] [ "" ] version}"
    else
      throw "${fn}: makes ${release} has no python '${toString version}': it offers ${
        concatStringsSep ", " versions}";

  upper = [ "A" "B" "C" "D" "E" "F" "G" "H" "I" "J" "K" "L" "M" "N" "O" "P" "Q" "R" "S" "T" "U" "V" "W" "X" "Y" "Z" ];
  lower = [ "a" "b" "c" "d" "e" "f" "g" "h" "i" "j" "k" "l" "m" "n" "o" "p" "q" "r" "s" "t" "u" "v" "w" "x" "y" "z" ];
  toLower = replaceStrings upper lower;
  # PEP 503's normal form of a package name.
  normalize = name: toLower (replaceStrings [ "_" "." ] [ "-" "-" ] name);
  # The name a PEP 508 requirement starts with (`requests[socks] >=2 ; ...`).
  requirementName = req:
    let m = match "[[:space:]]*([A-Za-z0-9][A-Za-z0-9._-]*).*" req;
    in if m == null then null else head m;
  words = sep: text: filter isString (split sep text);

  # A dependency's value in pyproject.toml or poetry.lock: a version, a table, or a list of
  # tables; its PEP 508 markers (null: unconditional) and the extras it asks for.
  constraints = value: if isList value then value else [ value ];
  edgeMarkers = value:
    let ms = map (c: if isAttrs c then c.markers or null else null) (constraints value);
    in if elem null ms then null else concatStringsSep " or " (map (m: "(${m})") ms);
  edgeExtras = value: concatLists (map (c: if isAttrs c then c.extras or [ ] else [ ]) (constraints value));

  # The best file of a package for CPython `version` on x86_64 Linux: a wheel (when
  # `preferWheels`), else an sdist; null when it has none.
  selectFile = version: preferWheels: files:
    let
      cp = "cp${replaceStrings [ "." ] [ "" ] version}";
      minor = elemAt (words "\\." version) 1;
      wheelScore = file:
        let
          parts = words "-" (replaceStrings [ ".whl" ] [ "" ] file);
          n = length parts;
          pys = words "\\." (elemAt parts (n - 3));
          abis = words "\\." (elemAt parts (n - 2));
          plats = words "\\." (elemAt parts (n - 1));
          platOk = builtins.any (p: p == "any"
            || match "(manylinux[0-9_]*|linux)_x86_64|manylinux_[0-9]+_[0-9]+_x86_64" p != null) plats;
          abi3Ok = elem "abi3" abis && builtins.any (p:
            let m = match "cp3([0-9]+)" p;
            in m != null && builtins.fromJSON (head m) <= builtins.fromJSON minor) pys;
        in if n < 5 || !platOk then 0
          else if elem cp pys && elem cp abis then 4
          else if abi3Ok then 3
          else if elem cp pys && elem "none" abis then 2
          else if (elem "py3" pys || elem "py${replaceStrings [ "." ] [ "" ] version}" pys) && elem "none" abis then 1
          else 0;
      wheels = filter (f: match ".*\\.whl" f.file != null) files;
      best = foldl' (acc: f: let s = wheelScore f.file; in if s > acc.score then { score = s; file = f; } else acc)
        { score = 0; file = null; } wheels;
      sdists = filter (f: match ".*\\.(tar\\.gz|tar\\.bz2|tar\\.xz|zip|tar)" f.file != null) files;
    in if preferWheels && best.file != null then best.file
      else if sdists != [ ] then head sdists
      else best.file;

  # Where poetry2nix takes a file of the package `pkg` from: PyPI's predictable URL (no
  # source) or the `url` source, fetched against the lock's hash; a `file` source is the
  # project's own file (`url` relative to the project directory).
  fileOf = fn: projectDir: pkg: file: sha256:
    let source = pkg.source or null;
    in if source == null || (source.type or "") == "" then
      let
        parts = words "-" (replaceStrings [ ".whl" ] [ "" ] file);
        kind = if match ".*\\.whl" file != null then elemAt parts (length parts - 3) else "source";
      in self.fetchUrl {
        url = "https://files.pythonhosted.org/packages/${kind}/${toLower (substring 0 1 file)}/${pkg.name}/${file}";
        inherit sha256;
      }
    else if source.type == "url" then self.fetchUrl { inherit (source) url; inherit sha256; }
    else if source.type == "file" then inProject fn projectDir pkg source.url
    else if source.type == "legacy" then fromLegacy fn pkg file sha256
    else unsupportedSource fn pkg;

  # A file of a legacy (PEP 503 "simple") index: its link on the package's page of the index,
  # resolved against the page's URL, fetched against the lock's hash. poetry2nix reads the
  # page while fetching; here it is read during evaluation (the file itself is pinned).
  fromLegacy = fn: pkg: file: sha256:
    let
      base = pkg.source.url;
      index = "${if match ".*/" base != null then base else "${base}/"}${normalize pkg.name}/";
      page = builtins.readFile (builtins.fetchurl index);
      hrefs = map head (filter isList (split "[Hh][Rr][Ee][Ff]=[\"']([^\"']*)[\"']" page));
      links = map (href: head (words "#" href)) (filter (href: href != "") hrefs);
      matching = filter (href: baseNameOf href == file) links;
    in if matching == [ ] then
      throw "${fn}: the legacy index page ${index} links no file '${file}' of '${pkg.name}'"
    else self.fetchUrl { url = resolveUrl index (head matching); inherit sha256; };

  # `href` resolved against the page at `base` (RFC 3986's reference resolution, for the
  # absolute, root-relative and relative links index pages hold).
  resolveUrl = base: href:
    if match "[A-Za-z][A-Za-z0-9+.-]*:.*" href != null then href
    else
      let
        parts = match "([A-Za-z][A-Za-z0-9+.-]*://[^/]*)(/.*)?" base;
        origin = head parts;
        basePath = let p = elemAt parts 1; in if p == null then "/" else p;
        dir = head (match "(.*/)[^/]*" basePath);
        path = if substring 0 1 href == "/" then href else dir + href;
        dropLast = list: builtins.genList (elemAt list) (length list - 1);
        segments = foldl' (acc: segment:
          if segment == "." then acc
          else if segment == ".." then (if acc == [ ] then [ ] else dropLast acc)
          else acc ++ [ segment ]) [ ] (builtins.tail (words "/" path));
      in "${origin}/${concatStringsSep "/" segments}";

  # A `directory` or `git` source: the tree pip builds the package from (poetry2nix builds it
  # from the same tree); null for the other kinds.
  treeOf = fn: projectDir: pkg:
    let source = pkg.source or { };
    in if (source.type or "") == "directory" then inProject fn projectDir pkg source.url
    else if (source.type or "") == "git" then
      "${builtins.fetchGit {
        inherit (source) url;
        rev = source.resolved_reference or source.reference;
      }}" + (if (source.subdirectory or null) == null then "" else "/${source.subdirectory}")
    else null;

  # `url` of a `file` or `directory` source, inside the project directory (where poetry's
  # relative paths start); one leading outside it is refused, naming the package.
  inProject = fn: projectDir: pkg: url:
    let parts = words "/" url;
    in if builtins.substring 0 1 url == "/" || elem ".." parts then
      throw "${fn}: the ${pkg.source.type} source of '${pkg.name}' (${url}) is outside the project directory ${toString projectDir}, which is all makes copies"
    else "${projectDir}/${url}";

  unsupportedSource = fn: pkg: throw "${fn}: the package '${pkg.name}' comes from a ${pkg.source.type} source (${
      pkg.source.url or pkg.source.reference or ""}), which makes here does not fetch";

  makePythonPoetryEnvironment = fn: { pythonProjectDir, pythonVersion, preferWheels ? true
    , overrides ? (self: super: { }) }:
    let
      python = interpreter fn pythonVersion;
      pyproject = builtins.fromTOML (builtins.readFile "${pythonProjectDir}/pyproject.toml");
      lock = builtins.fromTOML (builtins.readFile "${pythonProjectDir}/poetry.lock");
      # Lock files of format 1.1 list the files under metadata.files.
      filesOf = pkg: pkg.files or (lock.metadata.files.${pkg.name} or [ ]);

      # The lock's packages by normal name; a later entry wins, as in poetry2nix.
      locked = listToAttrs (map (pkg: { name = normalize pkg.name; value = pkg; }) (lock.package or [ ]));

      # Package records as the overrides see them.
      record = pkg:
        let r = {
          pname = pkg.name;
          inherit (pkg) version;
          __makesPoetryPackage = pkg;
          overridePythonAttrs = _: r;
          overrideAttrs = _: r;
          override = _: r;
        };
        in r;
      super = builtins.mapAttrs (_: record) locked;
      final = super // overrides final super;

      poetry = pyproject.tool.poetry or { };
      rootTables = [ (poetry.dependencies or { }) (poetry.dev-dependencies or { })
        ((poetry.group or { }).dev.dependencies or { }) ];
      roots = concatLists (map (table: map (name: { inherit name; value = table.${name}; })
        (filter (name: normalize name != "python") (attrNames table))) rootTables)
        ++ map (req: { name = requirementName req; value = "*"; })
          (filter (req: requirementName req != null) (pyproject.project.dependencies or [ ]));

      # `{ key; markers; }` edges from a package's `dependencies` (and the extras asked of it).
      edges = deps: concatLists (map (name:
        let value = deps.${name}; key = normalize name;
        in [{ inherit key; markers = edgeMarkers value; }]
          ++ concatLists (map (extra: map (req: {
            key = normalize (requirementName req);
            markers = edgeMarkers value;
          }) (locked.${key}.extras.${extra} or [ ])) (edgeExtras value))) (attrNames deps));
      rootEdges = edges (listToAttrs roots);

      closure = genericClosure {
        startSet = filter (e: locked ? ${e.key}) rootEdges;
        operator = e: filter (d: locked ? ${d.key}) (edges (locked.${e.key}.dependencies or { }));
      };
      # Every edge into each package, for its markers.
      allEdges = rootEdges ++ concatLists (map (e: edges (locked.${e.key}.dependencies or { })) closure);
      markersOf = key:
        let ms = map (e: e.markers) (filter (e: e.key == key) allEdges);
        in if ms == [ ] || elem null ms then null else concatStringsSep " or " (map (m: "(${m})") ms);

      installed = filter (key: final.${key} or null != null) (map (e: e.key) closure);
      packageOf = key:
        let value = final.${key};
        in if isAttrs value && value ? __makesPoetryPackage then value.__makesPoetryPackage
          else throw "${fn}: the override of '${key}' gives a package that is not the lock file's; makes here installs only the lock's packages";

      # A package built from a tree is required by its path (PEP 508's `name @ url`); the
      # others by version, from the downloaded files.
      requirement = key:
        let
          pkg = packageOf key;
          m = markersOf key;
          tree = treeOf fn pythonProjectDir pkg;
        in (if tree == null then "${pkg.name}==${pkg.version}" else "${pkg.name} @ file://${tree}")
          + (if m == null then "" else " ; ${m}");
      links = concatLists (map (key:
        let
          pkg = packageOf key;
          file = selectFile pythonVersion preferWheels (filesOf pkg);
          sha256 = let m = match "sha256:(.*)" file.hash; in
            if m == null then throw "${fn}: the file '${file.file}' of '${pkg.name}' has no sha256 hash in poetry.lock"
            else head m;
        in if treeOf fn pythonProjectDir pkg != null || file == null then [ ] else [{
          name = file.file;
          path = fileOf fn pythonProjectDir pkg file.file sha256;
        }]) installed);

      env = self.makeDerivation {
        builder = templates.makePythonPypiEnvironment;
        name = "python-environment-${normalize (poetry.name or pyproject.project.name or "project")}";
        env = {
          envClosure = self.toFileLst "closure.lst" (map requirement installed);
          envDownloads = self.makeDerivation {
            name = "python-environment-downloads";
            builder = ''
              mkdir -p "$out"
            '' + concatStringsSep "" (map (link: ''
              ln -s ${self.escapeShellArg link.path} "$out"/${self.escapeShellArg link.name}
            '') links);
          };
          envPython = python;
        };
        searchPaths.bin = [ python ];
      };
    in env // { inherit pythonVersion; };

  makePythonEnvironment = args:
    let
      env = makePythonPoetryEnvironment "makePythonEnvironment" args;
      is = version: self.listOptional (args.pythonVersion == version) env;
    in self.makeSearchPaths {
      bin = [ env ];
      pythonPackage39 = is "3.9";
      pythonPackage310 = is "3.10";
      pythonPackage311 = is "3.11";
      pythonPackage312 = is "3.12";
    };
in {
  inherit makePythonEnvironment;
  makePythonPoetryEnvironment = makePythonPoetryEnvironment "makePythonPoetryEnvironment";
}
