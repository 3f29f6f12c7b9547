# makes' Node.js environments, as makes defines them in its src/args (make-node-js-version,
# make-node-js-modules, make-node-js-environment), release differences included. Evaluated by
# makes with:
#   self: the makes arguments; release: the makes release whose rules apply;
#   templates: the text of makes' shell templates (nix/args/templates/).
#
# node_modules are built as makes 21.10-23.07 build them: every package of the lock file is a
# fixed-output fetch pinned by its `integrity`, the fetched tarballs and one packument per
# package form a registry (a link farm), and `npm install` runs offline against it, served on
# the build's own loopback. makes 24.01 and 24.02 generate node2nix expressions instead and
# import them (import from derivation, with nixpkgs' node-env.nix); here those releases get
# the same interface and result layout (`$out/lib/node_modules`, `$out/bin`) built the way
# above, and `packageOverrides`, which overrides node2nix's derivation, is refused.
#
# makes 21.09 has other arguments: makeNodeJsEnvironment takes a `node` package and a
# `nodeModules` built by the caller; makeNodeJsModules takes sorted `name@version` lists
# (`dependencies`, `subDependencies`) and runs `npm install` against the npm registry, which
# works only because makes 21.09 turns Nix's sandbox off. makes' builds have no network
# unless their output is fixed, and those lists pin no hash: that form checks its lists as
# makes 21.09 does, then is refused with a message saying so.
{ self, release, templates }:
let
  pkgs = self.__nixpkgs__;
  since = version: builtins.compareVersions release version >= 0;
  inRange = first: last: since first && !since last;

  # The interpreters each release offers, and its message for another version.
  versions =
    if inRange "22.02" "22.03" then {
      supported = [ "10" "12" "14" "16" "17" ];
      message = "Supported node versions are: 10, 12, 14 and 16";
    } else if !since "22.05" then {
      supported = [ "10" "12" "14" "16" ];
      message = "Supported node versions are: 10, 12, 14 and 16";
    } else if !since "22.06" then {
      supported = [ "10" "14" "16" ];
      message = "Supported node versions are: 10, 14 and 16";
    } else if !since "22.07" then {
      supported = [ "14" "16" "17" "18" ];
      message = "Supported node versions are: 14, 16, 17 and 18";
    } else if !since "23.07" then {
      supported = [ "14" "16" "18" ];
      message = "Supported node versions are: 14, 16 and 18";
    } else {
      supported = [ "18" "20" "21" ];
      message = "Supported node versions are: 18, 20 and 21";
    };
  makeNodeJsVersion = version:
    if builtins.elem version versions.supported then
      (if since "23.07" then pkgs."nodejs_${version}" else pkgs."nodejs-${version}_x")
    else
      abort versions.message;

  quote = s: "'${builtins.replaceStrings [ "'" ] [ "'\\''" ] s}'";
  # nixpkgs' linkFarm, built by makes: `name` links to `path` for each entry.
  linkFarm = name: entries:
    self.makeDerivation {
      inherit name;
      builder = ''
        mkdir -p "$out"
        cd "$out"
      '' + builtins.concatStringsSep "" (builtins.map (entry: ''
        mkdir -p "$(dirname ${quote entry.name})"
        ln -s ${quote "${entry.path}"} ${quote entry.name}
      '') entries);
    };
  unique = builtins.foldl' (acc: e: if builtins.elem e acc then acc else acc ++ [ e ]) [ ];
  attrsGet = set: name: default: if builtins.hasAttr name set then set.${name} else default;

  # nixpkgs' `fetchurl { hash; url; }`: a flat fixed-output fetch pinned by an SRI hash.
  fetchurl = { hash, url }: self.fetchUrl {
    sha256 = hash;
    inherit url;
  };

  # The lock file's packages, each with its fetched tarball (makes' collectDependencies:
  # `dependencies` and `devDependencies`, nested `dependencies` depth first).
  collectDependencies = deps:
    builtins.foldl' (all: name:
      let
        depAttrs = deps.${name};
        tarball = fetchurl {
          hash = depAttrs.integrity;
          url = if builtins.hasAttr "resolved" depAttrs then
            depAttrs.resolved
          else if builtins.hasAttr "version" depAttrs then
            depAttrs.version
          else
            abort "Unable to fetch: ${name}";
        };
        dep = depAttrs // {
          inherit name;
          resolved = tarball;
          resolvedName = "${name}/-/${tarball.name}";
        };
        depsOfdep = if builtins.hasAttr "dependencies" dep then
          collectDependencies dep.dependencies
        else
          [ ];
      in all ++ depsOfdep ++ [ dep ]) [ ] (builtins.attrNames deps);

  # The packages of a lock file: its `dependencies` (lockfileVersion 1 and 2), or, from
  # 24.01 on, its `packages` when it has no `dependencies` (lockfileVersion 3).
  lockedPackages = packageLock:
    let
      byPath = attrsGet packageLock "packages" { };
      nameOf = path:
        let parts = builtins.split "node_modules/" path;
        in builtins.elemAt parts (builtins.length parts - 1);
      fromPackages = builtins.listToAttrs (builtins.concatMap (path:
        let entry = byPath.${path};
        in if path == "" || attrsGet entry "link" false then
          [ ]
        else
          [{
            name = nameOf path;
            value = builtins.removeAttrs entry [ "dependencies" ];
          }]) (builtins.attrNames byPath));
      fromDependencies = (attrsGet packageLock "dependencies" { })
        // (attrsGet packageLock "devDependencies" { });
    in if since "24.01" && !(packageLock ? dependencies) then
      fromPackages
    else
      fromDependencies;

  nodeModulesOf = { name, nodeJs, packageJson, packageLockJson, searchPaths
    , shouldIgnoreScripts }:
    let
      packageLock = self.fromJsonFile packageLockJson;
      dependenciesFlat = collectDependencies (lockedPackages packageLock);
      dependenciesGrouped = builtins.groupBy (dep: dep.name) dependenciesFlat;
      registryIndexes = builtins.map (name: {
        name = "${name}/index.html";
        path = self.toFileJson "${name}.json" {
          inherit name;
          versions = builtins.listToAttrs (builtins.map (versionAttrs: {
            name = versionAttrs.version;
            value = {
              dist.integrity = versionAttrs.integrity;
              dist.tarball = versionAttrs.resolvedName;
            };
          }) dependenciesGrouped.${name});
        };
      }) (builtins.attrNames dependenciesGrouped);
      registryTarballs = unique (builtins.map (dep: {
        name = dep.resolvedName;
        path = dep.resolved;
      }) dependenciesFlat);
      registry = linkFarm "make-node-js-modules-registry-for-${name}"
        (registryIndexes ++ registryTarballs);
    in self.makeDerivation {
      builder = templates.makeNodeJsModules;
      env = {
        envRegistry = registry;
        envPackageJson = packageJson;
        envPackageLockJson = packageLockJson;
        envShouldIgnoreScripts = shouldIgnoreScripts;
      };
      name = "make-node-js-modules-for-${name}";
      searchPaths = {
        bin = [
          pkgs.bash
          pkgs.findutils
          pkgs.gnused
          pkgs.jq
          pkgs.python39
          pkgs.which
          nodeJs
        ];
        source = [ (self.makeSearchPaths searchPaths) self.patchShebangs ];
      };
    };

  # makes 24.01 and 24.02: node2nix's `nodeDependencies` layout.
  nodeDependenciesOf = { name, nodeJsVersion, packageJson, packageLockJson
    , packageOverrides }:
    let
      modules = nodeModulesOf {
        inherit name packageJson packageLockJson;
        nodeJs = makeNodeJsVersion nodeJsVersion;
        searchPaths = { };
        shouldIgnoreScripts = false;
      };
    in if packageOverrides != { } then
      throw
      "makeNodeJsModules: packageOverrides (an override of node2nix's derivation) is not supported yet"
    else
      self.makeDerivation {
        # node2nix names it after package.json's name (`@` and `/` spelled out) and version.
        name = let
          package = self.fromJsonFile packageJson;
          packageName = builtins.replaceStrings [ "@" "/" ] [ "_at_" "_slash_" ]
            (package.name or name);
        in "node-dependencies-${packageName}-${package.version or "0.0.0"}";
        builder = ''
          mkdir -p "$out/lib"
          ln -s ${quote "${modules}"} "$out/lib/node_modules"
          ln -s lib/node_modules/.bin "$out/bin"
        '';
      };
  node2nixReleases = since "24.01";
  nameVersionReleases = !since "21.10";

  # makes 21.09: the lists must be written sorted (as `sortAscii` sorts them).
  nameVersionModules = { name, node, searchPaths ? { }, dependencies, subDependencies }:
    let
      sorted = list: what:
        let sortedList = self.sortAscii list;
        in if sortedList == list then
          list
        else
          abort "${what} must be sorted in this order: ${builtins.toJSON sortedList}";
      requirements = sorted dependencies "Dependencies"
        ++ sorted subDependencies "Sub-dependencies";
    in builtins.deepSeq requirements (throw
      "makeNodeJsModules '${name}': makes 21.09's form runs `npm install` against the npm registry inside the build, which needs the network; makes' builds of outputs without a fixed hash have none. Use the form of makes 21.10 and later (packageJson, packageLockJson), whose packages are pinned by the lock file");
in {
  inherit makeNodeJsVersion;
  makeNodeJsModules = if nameVersionReleases then
    nameVersionModules
  else if node2nixReleases then
    { name, nodeJsVersion, packageJson, packageLockJson, packageOverrides ? { } }:
    nodeDependenciesOf {
      inherit name nodeJsVersion packageJson packageLockJson packageOverrides;
    }
  else
    { name, nodeJsVersion, packageJson, packageLockJson, searchPaths ? { }
    , shouldIgnoreScripts ? false }:
    nodeModulesOf {
      inherit name packageJson packageLockJson searchPaths shouldIgnoreScripts;
      nodeJs = makeNodeJsVersion nodeJsVersion;
    };
  makeNodeJsEnvironment = if nameVersionReleases then
    { node, nodeModules }:
    self.makeSearchPaths {
      bin = [ node ];
      nodeBin = [ nodeModules ];
      nodeModule = [ nodeModules ];
    }
  else if node2nixReleases then
    { name, nodeJsVersion, packageJson, packageLockJson, packageOverrides ? { }
    , searchPaths ? { } }:
    let
      nodeModules = "${
          nodeDependenciesOf {
            inherit name nodeJsVersion packageJson packageLockJson packageOverrides;
          }
        }/lib/node_modules";
    in self.makeSearchPaths {
      bin = [ (makeNodeJsVersion nodeJsVersion) ];
      nodeBin = [ nodeModules ];
      nodeModule = [ nodeModules ];
      source = [ (self.makeSearchPaths searchPaths) ];
    }
  else
    { name, nodeJsVersion, packageJson, packageLockJson, searchPaths ? { }
    , shouldIgnoreScripts ? false }:
    let
      nodeModules = nodeModulesOf {
        inherit name packageJson packageLockJson searchPaths shouldIgnoreScripts;
        nodeJs = makeNodeJsVersion nodeJsVersion;
      };
    in self.makeSearchPaths {
      bin = [ (makeNodeJsVersion nodeJsVersion) ];
      nodeBin = [ nodeModules ];
      nodeModule = [ nodeModules ];
      source = [ (self.makeSearchPaths searchPaths) ];
    };
}
