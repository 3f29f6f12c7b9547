# makes' Python environments, following makes' src/args (make-python-version,
# make-python-pypi-environment, make-python-pyproject-package, make-python-vscode-settings,
# python-override-utils) release by release; their scripts and data are templates/python-*.
# Evaluated by makes with:
#   self: the makes arguments (makeDerivation, makeSearchPaths, fetchUrl, __nixpkgs__, ...)
#   release: the makes release whose rules apply ("24.12")
#   templates: makes' builder and data files these functions use
# Where makes takes a function of its pinned nixpkgs that makes does not run here
# (`fetchurl`, `linkFarm`, `pypi-mirror`), the same job is done with makes' own arguments:
# `fetchUrl` (the same fixed-output store path as nixpkgs' `fetchurl`), a derivation of
# symlinks, and pip reading the fetched files with `--find-links` instead of a mirror. The pip
# that installs is the interpreter's own (its ensurepip), where makes first upgrades to a
# pip 21.2.4 wheel fetched from PyPI; as in makes, pip is removed from the result.
# makePythonEnvironment and makePythonPoetryEnvironment (24.x) are in python-poetry.nix,
# lintPython, lintPythonImports and testPython in python-checks.nix.
{ self, release, templates }:
let
  before = r: builtins.compareVersions release r < 0;

  # The Python versions `makePythonVersion` knows in each release.
  pythonAttrs =
    if before "22.03" then {
      "3.6" = "python36";
      "3.7" = "python37";
      "3.8" = "python38";
      "3.9" = "python39";
    } else if before "22.09" then {
      "3.7" = "python37";
      "3.8" = "python38";
      "3.9" = "python39";
    } else if before "22.11" then {
      "3.7" = "python37";
      "3.8" = "python38";
      "3.9" = "python39";
      "3.10" = "python310";
    } else {
      "3.8" = "python38";
      "3.9" = "python39";
      "3.10" = "python310";
      "3.11" = "python311";
    };
  makePythonVersion = version:
    if pythonAttrs ? ${version} then
      self.__nixpkgs__.${pythonAttrs.${version}}
    else
      throw "makePythonVersion: makes ${release} has no python '${toString version}': it offers ${
        builtins.concatStringsSep ", " (builtins.sort (a: b: builtins.compareVersions a b < 0)
          (builtins.attrNames pythonAttrs))}";

  # `makeSearchPaths`' argument putting `env`'s site-packages on PYTHONPATH: pythonPackage311
  # for 3.11. makeSearchPaths here follows 24.12, which has no generator for 3.6 to 3.8; for
  # those the plain `pythonPackage` kind writes the export the release's makeSearchPaths wrote.
  pythonPackageSearchPaths = version: env:
    if builtins.elem version [ "3.6" "3.7" "3.8" ] then {
      pythonPackage = [ "${env}/lib/python${version}/site-packages" ];
    } else {
      "pythonPackage${builtins.replaceStrings [ "." ] [ "" ] version}" = [ env ];
    };

  # The arguments `makePythonPypiEnvironment` takes in each release, with their defaults.
  pypiFormals = {
    name = null;
    sourcesJson = null;
    sourcesRaw = null;
    sourcesYaml = null;
    withCython_0_29_24 = false;
  } // (if before "21.11" then {
    searchPaths = { };
  } else {
    searchPathsBuild = { };
    searchPathsRuntime = { };
  }) // (if before "22.11" then {
    withNumpy_1_21_2 = false;
  } else {
    withNumpy_1_24_0 = false;
  }) // (if before "23.04" then
    {
      withSetuptools_57_4_0 = false;
      withSetuptoolsScm_6_0_1 = false;
      withWheel_0_37_0 = false;
    } // (if before "21.11" then { } else { withSetuptoolsScm_5_0_2 = false; })
  else {
    withSetuptools_67_7_2 = false;
    withSetuptoolsScm_7_1_0 = false;
    withWheel_0_40_0 = false;
  });

  # makes' bootstrap packages: the wheels its `with*` flags add.
  wheels = {
    cython_0_29_24 = {
      name = "Cython-0.29.24-py2.py3-none-any.whl";
      sha256 = "11c3fwfhaby3xpd24rdlwjdp1y1ahz9arai3754awp0b2bq12r7r";
      url = "https://files.pythonhosted.org/packages/ec/30/8707699ea6e1c1cbe79c37e91f5b06a6266de24f699a5e19b8c0a63c4b65/Cython-0.29.24-py2.py3-none-any.whl";
    };
    setuptools_57_4_0 = {
      name = "setuptools-57.4.0-py3-none-any.whl";
      sha256 = "1mhq6jw21sglccqmimydqi2rjvh3g5xjykb16gcvkkx6gabk14m4";
      url = "https://pypi.org/packages/py3/s/setuptools/setuptools-57.4.0-py3-none-any.whl";
    };
    setuptoolsScm_5_0_2 = {
      name = "setuptools_scm-5.0.2-py2.py3-none-any.whl";
      sha256 = "1xi0zjb2gqqnvsc31nfj5sc3kakfqzsbllkgqd5fz1gpdr40k8rc";
      url = "https://files.pythonhosted.org/packages/py2.py3/s/setuptools_scm/setuptools_scm-5.0.2-py2.py3-none-any.whl";
    };
    setuptoolsScm_6_0_1 = {
      name = "setuptools_scm-6.0.1-py3-none-any.whl";
      sha256 = "0p4i5nypfdqzjlmlkwvy45107y7kpq3x9s5zq2jl9vwd3iq5zgf3";
      url = "https://files.pythonhosted.org/packages/py3/s/setuptools_scm/setuptools_scm-6.0.1-py3-none-any.whl";
    };
    wheel_0_37_0 = {
      name = "wheel-0.37.0-py2.py3-none-any.whl";
      sha256 = "1za6c4s0yjy1dzprmib3kph40hr8xgj3apdsnqs00v9wv4mln091";
      url = "https://pypi.org/packages/py2.py3/w/wheel/wheel-0.37.0-py2.py3-none-any.whl";
    };
    setuptools_67_7_2 = {
      name = "setuptools-67.7.2-py3-none-any.whl";
      sha256 = "0awmhw9a3z21qqhrd0xgaqjpnlbp5pqh69yk06wcwlnahmmziai3";
      url = "https://pypi.org/packages/py3/s/setuptools/setuptools-67.7.2-py3-none-any.whl";
    };
    setuptoolsScm_7_1_0 = {
      name = "setuptools_scm-7.1.0-py3-none-any.whl";
      sha256 = "13ix4l2q4w34h1kpalyaryxr55d2dsc8r91a2jpy42c7hinqp63k";
      url = "https://files.pythonhosted.org/packages/py3/s/setuptools_scm/setuptools_scm-7.1.0-py3-none-any.whl";
    };
    wheel_0_40_0 = {
      name = "wheel-0.40.0-py3-none-any.whl";
      sha256 = "0izjbcsxh6nawadg540g34q5q758xralra0g77rdl8mmgh7b4dnj";
      url = "https://pypi.org/packages/py3/w/wheel/wheel-0.40.0-py3-none-any.whl";
    };
  };

  # makes' numpy sources, by numpy version and Python version.
  numpySources = {
    "1.21.2" = {
      "3.7" = templates.pythonNumpy_1_21_2_37;
      "3.8" = templates.pythonNumpy_1_21_2_38;
      "3.9" = templates.pythonNumpy_1_21_2_39;
    };
    "1.24.0" = {
      "3.8" = templates.pythonNumpy_1_24_0_38;
      "3.9" = templates.pythonNumpy_1_24_0_39;
      "3.10" = templates.pythonNumpy_1_24_0_310;
      "3.11" = templates.pythonNumpy_1_24_0_311;
    };
  };

  # A directory of symlinks `name -> path`, as nixpkgs' `linkFarm` makes it.
  linkFarm = name: entries:
    self.makeDerivation {
      inherit name;
      builder = ''
        mkdir -p "$out"
      '' + builtins.concatStringsSep "" (builtins.map (entry: ''
        ln -s ${self.escapeShellArg entry.path} "$out"/${self.escapeShellArg entry.name}
      '') entries);
    };

  makePythonPypiEnvironment = args:
    let
      unexpected = builtins.filter (arg: !(pypiFormals ? ${arg})) (builtins.attrNames args);
      missing = builtins.filter (arg: !(args ? ${arg})) [ "name" ];
      a = pypiFormals // args;
      inherit (a) name sourcesJson sourcesRaw sourcesYaml;

      sources = if sourcesJson != null then
        self.fromJsonFile sourcesJson
      else if sourcesRaw != null then
        sourcesRaw
      else if sourcesYaml != null then
        self.fromYamlFile sourcesYaml
      else
        abort "sourcesJson, sourcesRaw or sourcesYaml must be set";

      python = makePythonVersion sources.python;

      withNumpy = a.withNumpy_1_21_2 or a.withNumpy_1_24_0;
      numpyVersion = if a ? withNumpy_1_21_2 then "1.21.2" else "1.24.0";
      wheel = if a ? withWheel_0_37_0 then {
        flag = a.withWheel_0_37_0;
        version = "0.37.0";
        link = wheels.wheel_0_37_0;
      } else {
        flag = a.withWheel_0_40_0;
        version = "0.40.0";
        link = wheels.wheel_0_40_0;
      };

      bootstraped = builtins.concatLists [
        (self.listOptional a.withCython_0_29_24 (makePythonPypiEnvironment {
          name = "cython-0.29.24";
          sourcesRaw = {
            closure.cython = "0.29.24";
            links = [ wheels.cython_0_29_24 ];
            inherit (sources) python;
          };
        }))
        (self.listOptional withNumpy (makePythonPypiEnvironment {
          name = "numpy-${numpyVersion}";
          sourcesRaw =
            if numpyVersion == "1.21.2" && sources.python == "3.6" then
              abort "Numpy requires python >= 3.7"
            else
              self.fromYaml numpySources.${numpyVersion}.${sources.python};
          withCython_0_29_24 = true;
        }))
        (self.listOptional wheel.flag (makePythonPypiEnvironment {
          name = "wheel-${wheel.version}";
          sourcesRaw = {
            closure.wheel = wheel.version;
            links = [ wheel.link ];
            inherit (sources) python;
          };
        }))
      ];
      # Before 21.11 one `searchPaths` served the build and the result.
      searchPathsBuild = if a ? searchPaths then
        [ (self.makeSearchPaths a.searchPaths) ]
      else
        [ (self.makeSearchPaths a.searchPathsBuild) ];
      searchPathsRuntime = if a ? searchPaths then
        [ (self.makeSearchPaths a.searchPaths) ]
      else
        [ (self.makeSearchPaths a.searchPathsRuntime) ];

      links = builtins.concatLists [
        sources.links
        (self.listOptional (a.withCython_0_29_24 && !(before "23.04")) wheels.cython_0_29_24)
        (self.listOptional (a.withSetuptools_57_4_0 or false) wheels.setuptools_57_4_0)
        (self.listOptional (a.withSetuptoolsScm_6_0_1 or false) wheels.setuptoolsScm_6_0_1)
        (self.listOptional (a.withSetuptoolsScm_5_0_2 or false) wheels.setuptoolsScm_5_0_2)
        (self.listOptional (a.withSetuptools_67_7_2 or false) wheels.setuptools_67_7_2)
        (self.listOptional (a.withSetuptoolsScm_7_1_0 or false) wheels.setuptoolsScm_7_1_0)
        (self.listOptional wheel.flag wheel.link)
      ];

      pypiEnvironment = self.makeDerivation {
        builder = templates.makePythonPypiEnvironment;
        env = {
          envClosure = self.toFileLst "closure.lst"
            (self.attrsMapToList (req: version: "${req}==${version}") sources.closure);
          envDownloads = linkFarm name (builtins.map ({ name, sha256, url }:
            # pip reads the files at the top of the directory: a name is a file name.
            if builtins.match "[^/]+" name == null || name == "." || name == ".." then
              throw "makePythonPypiEnvironment: the link '${url}' is named '${name}', which is not a file name"
            else {
              inherit name;
              path = self.fetchUrl { inherit name sha256 url; };
            }) links);
          # Our builders see the host's /usr/bin first on PATH: the interpreter is named.
          envPython = python;
        };
        inherit name;
        searchPaths = {
          bin = [ python ];
          source = bootstraped ++ searchPathsBuild;
        };
      };
    in if unexpected != [ ] then
      throw "makePythonPypiEnvironment called with unexpected argument '${builtins.head unexpected}'"
    else if missing != [ ] then
      throw "makePythonPypiEnvironment called without required argument 'name'"
    else
      assert builtins.any (x: x) [
        (sourcesJson == null && sourcesRaw != null && sourcesYaml == null)
        (sourcesJson != null && sourcesRaw == null && sourcesYaml == null)
        (sourcesJson == null && sourcesRaw == null && sourcesYaml != null)
      ];
      self.makeSearchPaths ({
        bin = [ pypiEnvironment ];
        source = bootstraped ++ searchPathsRuntime;
      } // pythonPackageSearchPaths sources.python pypiEnvironment);

  # makes' make-python-vscode-settings: a script writing .vscode/settings.json for `env`.
  makePythonVscodeSettings = { name, env, bins }:
    self.makeTemplate {
      inherit name;
      searchPaths = { bin = bins ++ [ env ]; };
      replace = {
        __argPython__ = self.__nixpkgs__.python310;
        __argPythonEnv__ = env;
        __argPythonEntry__ = builtins.toFile "vs_settings.py" templates.pythonVscodeSettingsPy;
      };
      template = templates.pythonVscodeSettings;
    };

  # makes' python-override-utils: overrides of python packages throughout a closure.
  pythonOverrideUtils = let
    recursive_python_pkg_override = is_pkg: override:
      let self = recursive_python_pkg_override is_pkg override;
      in pkg:
      if is_pkg pkg then
        override pkg
      else if pkg ? overridePythonAttrs && pkg ? pname then
        pkg.overridePythonAttrs (builtins.mapAttrs (_: value:
          if builtins.isList value then map self value else self value))
      else
        pkg;
    no_check_override = recursive_python_pkg_override
      (pkg: pkg ? overridePythonAttrs && pkg ? pname) (pkg:
        pkg.overridePythonAttrs (old:
          (builtins.mapAttrs (_: value:
            if builtins.isList value then
              map no_check_override value
            else
              no_check_override value) old) // {
                doCheck = false;
              }));
    replace_pkg = names: new_pkg:
      recursive_python_pkg_override
      (x: x ? overridePythonAttrs && x ? pname && builtins.elem x.pname names)
      (_: new_pkg);
    compose = let
      reverseList = xs:
        let l = builtins.length xs;
        in builtins.genList (n: builtins.elemAt xs (l - n - 1)) l;
    in functions: val: builtins.foldl' (x: f: f x) val (reverseList functions);
  in { inherit compose recursive_python_pkg_override no_check_override replace_pkg; };

  # makes' make-python-pyproject-package (its generic_builder): the project's package built
  # by the given `buildPythonPackage` from its pyproject.toml, with environments and checks.
  makePythonPyprojectPackage = { buildEnv, buildPythonPackage, pkgDeps, src }:
    let
      metadata = let
        _metadata = (builtins.fromTOML (builtins.readFile "${src}/pyproject.toml")).project;
        file_str = builtins.readFile "${src}/${_metadata.name}/__init__.py";
        match = builtins.match ''
          .*__version__ *= *"(.+)"
          .*'' file_str;
        version = builtins.elemAt match 0;
      in _metadata // { inherit version; };
      type_check = builtins.toFile "types.sh" templates.pythonPyprojectCheckTypes;
      test_check = builtins.toFile "tests.sh" templates.pythonPyprojectCheckTests;
      pkg = buildPythonPackage {
        inherit src type_check test_check;
        inherit (metadata) version;
        pname = metadata.name;
        format = "pyproject";
        checkPhase = [''
          source ${type_check} \
          && source ${test_check} \
        ''];
        doCheck = true;
        pythonImportsCheck = [ metadata.name ];
        nativeBuildInputs = pkgDeps.build_deps;
        propagatedBuildInputs = pkgDeps.runtime_deps;
        nativeCheckInputs = pkgDeps.test_deps;
      };
      build_env = extraLibs:
        buildEnv {
          inherit extraLibs;
          ignoreCollisions = false;
        };
      env = {
        runtime = build_env [ pkg ];
        dev = build_env (pkgDeps.runtime_deps ++ pkgDeps.test_deps);
      };
      build_check = check:
        pkg.overridePythonAttrs (old: { checkPhase = [ old."${check}" ]; });
    in {
      inherit pkg env;
      check = {
        tests = build_check "test_check";
        types = build_check "type_check";
      };
    };
in {
  inherit makePythonVersion makePythonPypiEnvironment makePythonVscodeSettings
    pythonOverrideUtils makePythonPyprojectPackage;
}
