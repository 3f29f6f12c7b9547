# The makes arguments makes' modules call (formatBash, lintNix, testLicense, ...), as makes
# defines them in its src/args/<name>/default.nix (MIT licence): 24.12's where 24.12 has
# them, else the last release's that does (24.02 for formatPython, lintMarkdown, lintClojure,
# lintWithLizard, lintGitCommitMsg, securePythonWithBandit, calculateScorecard,
# taintTerraform). Their entrypoints and builders are makes' own, in nix/modules/templates.
# Evaluated by makes with:
#   self: the makes arguments (makeScript, makeDerivation, toBashArray, __nixpkgs__, ...)
#   release: the makes release whose rules apply ("24.12")
#   templates: the text of the templates
{ self, release, templates }:
let
  inherit (self) __nixpkgs__ makeScript makeDerivation toBashArray;
  template = name: templates."modules/${name}";
  # A file of makes' source tree that makes passes as a path (`./config.hcl`): a store file.
  sourceFile = name: builtins.toFile name (template name);
  # makes' `makeDerivationParallel`: one derivation depending on all of `dependencies`.
  parallel = name: dependencies: self.makeDerivationParallel { inherit dependencies name; };
  terraformScript = kind: { setup, name, version, src, replace ? { }, ... }:
    makeScript {
      entrypoint = template "${kind}.sh";
      replace = { __argSrc__ = src; } // replace;
      name = "${kind}-for-${name}";
      searchPaths = {
        source = [ (self.makeTerraformEnvironment { inherit version; }) ] ++ setup;
      };
    };
in {
  calculateScorecard = { checks, format, target, ... }:
    makeScript {
      entrypoint = template "calculate-scorecard.sh";
      name = "calculate-scorecard";
      replace = {
        __argChecks__ = checks;
        __argFormat__ = format;
        __argTarget__ = target;
      };
      searchPaths.bin = [
        __nixpkgs__.coreutils
        __nixpkgs__.gnugrep
        __nixpkgs__.jq
        __nixpkgs__.scorecard
      ];
    };

  deployTerraform = terraformScript "deploy-terraform";

  formatBash = { name, targets, ... }:
    makeScript {
      replace = { __argTargets__ = toBashArray targets; };
      name = "format-bash-for-${name}";
      searchPaths = { bin = [ __nixpkgs__.shfmt ]; };
      entrypoint = template "format-bash.sh";
    };

  # nixfmt from 24.02; before, alejandra. makes built alejandra 1.0.0 from its own
  # repository (importing its flake at evaluation); here it is the package set's.
  formatNix = { name, targets, ... }:
    let nixfmt = builtins.compareVersions release "24.02" >= 0;
    in makeScript {
      replace = { __argTargets__ = toBashArray targets; };
      name = "format-nix-for-${name}";
      searchPaths.bin = if nixfmt then [ __nixpkgs__.nixfmt ] else [ __nixpkgs__.alejandra ];
      entrypoint = template (if nixfmt then "format-nix.sh" else "format-nix-alejandra.sh");
    };

  formatPython = { config, targets, name }:
    makeScript {
      name = "format-python-for-${name}";
      replace = {
        __argSettingsBlack__ = config.black;
        __argSettingsIsort__ = config.isort;
        __argTargets__ = toBashArray (builtins.map (rel: "." + rel) targets);
      };
      entrypoint = template "format-python.sh";
      searchPaths = {
        bin = [
          __nixpkgs__.black
          __nixpkgs__.git
          __nixpkgs__.python311Packages.isort
        ];
        pythonPackage311 = [ __nixpkgs__.python311Packages.colorama ];
      };
    };

  formatTerraform = { name, targets, ... }:
    makeScript {
      replace = { __argTargets__ = toBashArray targets; };
      name = "format-terraform-for-${name}";
      searchPaths = { bin = [ __nixpkgs__.terraform ]; };
      entrypoint = template "format-terraform.sh";
    };

  formatYaml = { name, targets, ... }:
    makeScript {
      name = "format-yaml-for-${name}";
      replace = { __argTargets__ = toBashArray targets; };
      searchPaths = {
        bin = [ __nixpkgs__.findutils __nixpkgs__.nodePackages.prettier ];
      };
      entrypoint = template "format-yaml.sh";
    };

  lintClojure = { targets, name, ... }:
    let
      makeTarget = envTarget:
        makeDerivation {
          env = { inherit envTarget; };
          name = "build-lint-clojure-for-${name}-${envTarget}";
          searchPaths.bin = [ __nixpkgs__.clj-kondo ];
          builder = template "lint-clojure.sh";
        };
    in parallel "lint-clojure-for-${name}" (builtins.map makeTarget targets);

  lintGitCommitMsg = { branch, config, name, parser, src }:
    makeScript {
      name = "lint-git-commit-msg-for-${name}";
      replace = {
        __argBranch__ = branch;
        __argConfig__ = config;
        __argParser__ = parser;
        __argSrc__ = src;
      };
      searchPaths = {
        bin = [ __nixpkgs__.git ];
        source = [
          (self.makeNodeJsEnvironment {
            name = "commitlint";
            # The Node.js of the release (its makeNodeJsVersion offers no newer one).
            nodeJsVersion = if builtins.compareVersions release "23.07" < 0 then "14"
              else if builtins.compareVersions release "24.02" < 0 then "18"
              else "21";
            packageJson = sourceFile "commitlint-package.json";
            packageLockJson = sourceFile "commitlint-package-lock.json";
          })
        ];
      };
      entrypoint = template "lint-git-commit-msg.sh";
    };

  lintGitMailMap = { name, src, exclude }:
    let
      # makes' mailmap linter, fetched as makes fetches it.
      mailmapLinter = builtins.fetchTarball {
        url = "https://github.com/kamadorueda/mailmap-linter/archive/ffed6a68e507228d7e462642a8ec129f816b6a5d.tar.gz";
        sha256 = "XHmqLTT7TZ/dXBtQSH1xkEGSWI4mpImt+KRqBHbfGLk=";
      };
    in makeScript {
      entrypoint = template "lint-git-mailmap.sh";
      replace = {
        __argSrc__ = src;
        __argExclude__ = exclude;
      };
      name = "lint-git-mailmap-for-${name}";
      searchPaths = {
        bin = [ (import mailmapLinter { nixpkgs = __nixpkgs__; }) ];
      };
    };

  lintMarkdown = { name, config, targets, rulesets }:
    makeDerivation {
      env = {
        envConfig = config;
        envTargets = toBashArray targets;
        envRulesets = rulesets;
      };
      name = "lint-markdown-for-${name}";
      searchPaths = { bin = [ __nixpkgs__.mdl ]; };
      builder = template "lint-markdown.sh";
    };

  lintNix = { name, targets, ... }:
    makeScript {
      replace = { __argTargets__ = toBashArray targets; };
      name = "lint-nix-for-${name}";
      searchPaths = { bin = [ __nixpkgs__.statix ]; };
      entrypoint = template "lint-nix.sh";
    };

  lintTerraform = { setup, config, name, version, src, ... }:
    makeScript {
      entrypoint = template "lint-terraform.sh";
      replace = {
        __argConfig__ = config;
        __argSrc__ = src;
      };
      name = "lint-terraform-for-${name}";
      searchPaths = {
        bin = [ __nixpkgs__.tflint ];
        source = [ (self.makeTerraformEnvironment { inherit version; }) ] ++ setup;
      };
    };

  lintWithAjv = { name, schema, targets }:
    makeScript {
      replace = {
        __argSchema__ = schema;
        __argTargets__ = toBashArray targets;
        # makes' src/args/lint-with-ajv/ajv-cli, where the job runs `npm ci`.
        __argAjvPath__ = makeDerivation {
          name = "ajv-cli";
          env = {
            envPackageJson = sourceFile "ajv-cli-package.json";
            envPackageLockJson = sourceFile "ajv-cli-package-lock.json";
          };
          builder = ''
            mkdir "$out"
            cp "$envPackageJson" "$out/package.json"
            cp "$envPackageLockJson" "$out/package-lock.json"
          '';
        };
      };
      name = "lint-with-ajv-for-${name}";
      searchPaths.bin = [ __nixpkgs__.nodejs_21 ];
      entrypoint = template "lint-with-ajv.sh";
    };

  lintWithLizard = { targets, name, ... }:
    let
      makeTarget = envTarget:
        makeDerivation {
          env = { inherit envTarget; };
          name = "build-lint-with-lizard-for-${name}-${envTarget}";
          # makes takes lizard from a Python environment of its own lock file; here the
          # package set's.
          searchPaths.bin = [ __nixpkgs__.python311Packages.lizard ];
          builder = template "lint-with-lizard.sh";
        };
    in parallel "lint-with-lizard-for-${name}" (builtins.map makeTarget targets);

  securePythonWithBandit = { name, target }:
    makeDerivation {
      builder = template "secure-python-with-bandit.sh";
      env.envTarget = target;
      name = "secure-python-with-bandit-for-${name}";
      # makes takes bandit from a Python environment of its own lock file; here the
      # package set's.
      searchPaths.bin = [ __nixpkgs__.python311Packages.bandit ];
    };

  taintTerraform = { setup, name, version, reDeploy ? false, resources, src, ... }:
    terraformScript "taint-terraform" {
      inherit setup name version src;
      replace = {
        __argResources__ = toBashArray resources;
        __argReDeploy__ = reDeploy;
      };
    };

  testLicense = makeScript {
    name = "test-license";
    entrypoint = template "test-license.sh";
    searchPaths.bin = [ __nixpkgs__.git __nixpkgs__.reuse ];
  };

  testTerraform = { debug ? false, name, setup, src, version, ... }:
    terraformScript "test-terraform" {
      inherit setup name version src;
      replace = { __argDebug__ = debug; };
    };
}
