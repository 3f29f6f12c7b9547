# makes' modules, as makes defines them in its src/evaluator/modules/<name>/default.nix (MIT
# licence): each maps its option's merged configuration to the jobs it makes, through the
# makes arguments of nix/args (`self.formatBash`, `self.makeEnvVars`, ...). 24.12's modules
# where 24.12 has them, else the last release's that does. The module system's defaults are
# applied here (`withDefaults`); which jobs exist is decided by the project loader, which asks
# this set for each one by name.
#   self: the makes arguments, with the project's `outputs` and `config`
#   release: the makes release whose rules apply ("24.12")
#   templates: the text of the templates
{ self, release, templates }:
let
  inherit (self) makeScript makeDerivation toBashArray projectPath __nixpkgs__;
  template = name: templates."modules/${name}";
  sourceFile = name: builtins.toFile name (template name);
  withDefaults = defaults: config: defaults // config;
  relative = builtins.map (rel: "." + rel);

  # `{ enable; targets ? [ "/" ]; }` modules calling the argument of the same name.
  enabled = name: config: attrs:
    if (withDefaults { enable = false; } config).enable then { "/${name}" = attrs; } else { };
  targetsModule = name: config:
    let c = withDefaults { targets = [ "/" ]; } config;
    in enabled name config (self.${name} {
      name = "builtin";
      targets = relative c.targets;
    });

  # `/<module>/<name>` for each attribute of `set`, as makes' `__toModuleOutputs__`.
  perName = module: f: set:
    builtins.listToAttrs (builtins.map (name: {
      name = "/${module}/${name}";
      value = f name set.${name};
    }) (builtins.attrNames set));

  terraformModules = module: defaults: f: config:
    perName module (name: c: f name (withDefaults ({ setup = [ ]; } // defaults) c))
      ((withDefaults { modules = { }; } config).modules);

  # `{ python = config.python; }` for the Python checks of releases before 24.01, whose
  # modules name a Python version (a module without one fails as makes' option would).
  pythonBefore2401 = config:
    if builtins.compareVersions release "24.01" < 0 then {
      python = config.python or (throw "The option `python' of this module is used but not defined");
    } else { };

  pipelineJobName = output: args: builtins.concatStringsSep "__" ([ output ] ++ args);
in {
  calculateScorecard = config:
    let
      c = withDefaults {
        checks = [ ];
        format = "json";
        target = "";
      } config;
    in enabled "calculateScorecard" config (self.calculateScorecard {
      checks = if c.checks == [ ] then c.checks else builtins.concatStringsSep "," c.checks;
      inherit (c) format target;
    });

  # Each release's module passes the options it has: `parallel` from 22.05, `propagateTags`
  # and `tags` from 22.11, `nextJob` from 23.07, `dryRun` from 24.01.
  computeOnAwsBatch = perName "computeOnAwsBatch" (name: config:
    let
      from = version: names:
        if builtins.compareVersions release version < 0 then [ ] else names;
      passed = [
        "allowDuplicates" "attempts" "attemptDurationSeconds" "command" "definition"
        "environment" "includePositionalArgsInName" "memory" "queue" "setup" "vcpus"
      ] ++ from "22.05" [ "parallel" ] ++ from "22.11" [ "propagateTags" "tags" ]
        ++ from "23.07" [ "nextJob" ] ++ from "24.01" [ "dryRun" ];
      c = withDefaults {
        allowDuplicates = false;
        attempts = 1;
        dryRun = false;
        environment = [ ];
        includePositionalArgsInName = true;
        nextJob = { };
        parallel = 1;
        propagateTags = true;
        setup = [ ];
        tags = { };
      } config;
      known = builtins.listToAttrs (builtins.map (n: { name = n; value = null; }) passed);
      unknown = builtins.filter (n: !(known ? ${n})) (builtins.attrNames config);
    in if unknown != [ ] then
      throw "The option `computeOnAwsBatch.${name}.${builtins.head unknown}' does not exist (makes ${release})"
    else
      self.computeOnAwsBatch (builtins.intersectAttrs known c // { inherit name; }));

  # The deploy modules' jobs as makes' deploy scripts: what `outputs."/deployContainer/<name>"`
  # is to other jobs (a pipeline's job, `__all__`). Running the job itself pushes natively.
  deployContainer = config:
    let
      script = name: c: self.deployContainer (if builtins.compareVersions release "24.09" < 0 then {
        attempts = c.attempts or 1;
        inherit (c) credentials registry tag;
        containerImage = c.src;
        inherit name;
        setup = c.setup or [ ];
        sign = c.sign or false;
      } else {
        inherit (c) credentials image src;
        inherit name;
        setup = c.setup or [ ];
        sign = c.sign or false;
      });
    in perName "deployContainer" script
      (if builtins.compareVersions release "24.09" < 0 then config.images or { } else config);

  deployContainerImage = config:
    perName "deployContainerImage" (name: c: self.deployContainerImage ({
      attempts = c.attempts or 1;
      inherit (c) credentials registry tag;
      containerImage = c.src;
      inherit name;
      setup = c.setup or [ ];
    } // (if builtins.compareVersions release "23.04" < 0 then { } else {
      sign = c.sign or false;
    }))) (config.images or { });

  deployContainerManifest = perName "deployContainerManifest" (name: c:
    self.deployContainerManifest ({
      inherit (c) credentials;
      inherit name;
      setup = c.setup or [ ];
      sign = c.sign or false;
    } // (if builtins.compareVersions release "24.09" < 0 then {
      inherit (c) config;
    } else {
      inherit (c) image manifests;
      tags = c.tags or [ ];
    })));

  deployTerraform = terraformModules "deployTerraform" { } (name: c:
    self.deployTerraform {
      inherit (c) setup version;
      inherit name;
      src = "." + c.src;
    });

  # `/deployNomad/<namespace>/<job>` from `jobs` (each naming its namespace) and from
  # `namespaces.<namespace>.jobs`.
  deployNomad = config:
    let
      c = withDefaults {
        jobs = { };
        namespaces = { };
      } config;
      job = name: given:
        let j = withDefaults { setup = [ ]; version = "1.1"; } given;
        in {
          "/deployNomad/${j.namespace}/${name}" = self.deployNomad {
            inherit name;
            inherit (j) setup src namespace version;
          };
        };
      namespace = ns: given:
        let n = withDefaults { setup = [ ]; version = "1.1"; } given;
        in builtins.foldl' (all: name:
          all // job name {
            inherit (n) setup version;
            namespace = ns;
            src = n.jobs.${name};
          }) { } (builtins.attrNames n.jobs);
      over = f: set: builtins.foldl' (all: name: all // f name set.${name}) { }
        (builtins.attrNames set);
    in over namespace c.namespaces // over job c.jobs;

  dev = perName "dev" (_: searchPaths:
    self.makeSearchPaths (searchPaths // { withAction = false; }));

  # makes declares `data` as a list of strings: anything else is refused with the module
  # system's message (a documented example writes `[ projectPath "/x" ]`, a function and a
  # string).
  dynamoDb = perName "dynamoDb" (name: args:
    let
      checked = builtins.genList (i:
        let value = builtins.elemAt args.data i;
        in if builtins.isString value then value else throw
          "A definition for option `dynamoDb.${name}.data.\"[definition 1-entry ${toString (i + 1)}]\"' is not of type `string'. Definition values: a ${builtins.typeOf value}")
        (builtins.length (args.data or [ ]));
    in self.makeDynamoDb ({ inherit name; } // args // (if args ? data then { data = checked; } else { })));

  envVars = perName "envVars" (name: mapping: self.makeEnvVars { inherit name mapping; });

  envVarsForTerraform = perName "envVarsForTerraform"
    (name: mapping: self.makeEnvVarsForTerraform { inherit name mapping; });

  formatBash = targetsModule "formatBash";

  formatJavaScript = config:
    let c = withDefaults { targets = [ "/" ]; } config;
    in enabled "formatJavaScript" config (makeScript {
      replace = {
        __argSettingsPrettier__ = sourceFile "format-javascript-prettierrc.yaml";
        __argTargets__ = toBashArray (relative c.targets);
      };
      name = "format-javascript";
      searchPaths.bin = [ __nixpkgs__.nodePackages.prettier ];
      entrypoint = template "format-javascript.sh";
    });

  formatMarkdown = config:
    let c = withDefaults { doctocArgs = [ ]; } config;
    in enabled "formatMarkdown" config (makeScript {
      replace = {
        __argDoctocArgs__ = toBashArray c.doctocArgs;
        __argTargets__ = toBashArray (relative c.targets);
      };
      name = "format-markdown";
      searchPaths.bin = [
        __nixpkgs__.git
        __nixpkgs__.gnugrep
        __nixpkgs__.gnused
        __nixpkgs__.nodejs_21
      ];
      entrypoint = template "format-markdown.sh";
    });

  # nixpkgs-fmt, written in the module, before the `formatNix` argument (22.04).
  formatNix = config:
    if builtins.compareVersions release "22.04" < 0 then
      let c = withDefaults { targets = [ "/" ]; } config;
      in enabled "formatNix" config (makeScript {
        replace.__argTargets__ = toBashArray (relative c.targets);
        name = "format-nix";
        searchPaths.bin = [ __nixpkgs__.nixpkgs-fmt ];
        entrypoint = template "format-nix-nixpkgs-fmt.sh";
      })
    else
      targetsModule "formatNix" config;

  # `{ enable; targets; }` until 23.04 (one job), then one job per named configuration.
  formatPython = config:
    let
      settings = {
        black = sourceFile "format-python-black.toml";
        isort = sourceFile "format-python-isort.toml";
      };
      job = name: c:
        self.formatPython {
          inherit name;
          config = settings // (c.config or { });
          targets = c.targets or [ "/" ];
        };
    in if builtins.isBool (config.enable or null) then
      enabled "formatPython" config (job "builtin" config)
    else
      perName "formatPython" job config;

  # scalafmt 3.0.8's static binary, as makes downloads it.
  formatScala = config:
    let
      binary = self.fetchUrl {
        url = "https://github.com/scalameta/scalafmt/releases/download/v3.0.8/scalafmt-linux-musl";
        sha256 = "0nxpny86qdbgsmxc9qzsv8f5qb21y25iyr8h2wg61kgiaw8988g0";
      };
      executable = makeDerivation {
        env.envSrc = binary;
        builder = "cp $envSrc $out && chmod +x $out";
        name = "scalafmt";
      };
      # makes formats formatJavaScript's targets here (its module reads that option).
      targets = (self.config.formatJavaScript or { }).targets or [ "/" ];
    in enabled "formatScala" config (makeScript {
      replace = {
        __argTargets__ = toBashArray (relative targets);
        __argScalaFmtBinary__ = executable;
      };
      name = "format-scala";
      entrypoint = template "format-scala.sh";
    });

  formatTerraform = config:
    enabled "formatTerraform" config (self.formatTerraform {
      name = "format-terraform";
      targets = relative config.targets;
    });

  formatYaml = targetsModule "formatYaml";

  helloWorld = config:
    enabled "helloWorld" config (makeScript {
      name = "hello-world";
      entrypoint = ''
        info Hello from Makes! ${config.name}.
        info You called us with CLI arguments: [ "$@" ].
      '';
    });

  lintBash = config:
    let c = withDefaults { targets = [ "/" ]; } config;
    in enabled "lintBash" config (makeDerivation {
      env.envTargets = toBashArray (builtins.map projectPath c.targets);
      name = "lint-bash";
      searchPaths.bin = [ __nixpkgs__.findutils __nixpkgs__.shellcheck ];
      builder = template "lint-bash.sh";
    });

  lintClojure = perName "lintClojure" (name: targets:
    self.lintClojure {
      inherit name;
      targets = builtins.map projectPath targets;
    });

  lintGitCommitMsg = config:
    let
      c = withDefaults {
        branch = "main";
        config = null;
        parser = null;
      } config;
    in enabled "lintGitCommitMsg" config (self.lintGitCommitMsg {
      inherit (c) branch;
      config = if c.config == null then
        sourceFile "lint-git-commit-msg-config.js"
      else
        projectPath c.config;
      name = "lint-git-commit-msg";
      parser = if c.parser == null then
        sourceFile "lint-git-commit-msg-parser.js"
      else
        projectPath c.parser;
      src = ".";
    });

  lintGitMailMap = config:
    let c = withDefaults { exclude = "^$"; } config;
    in enabled "lintGitMailMap" config (self.lintGitMailMap {
      name = "lint-git-mailmap";
      src = ".";
      inherit (c) exclude;
    });

  lintMarkdown = perName "lintMarkdown" (name: config:
    let
      c = withDefaults {
        config = null;
        rulesets = null;
      } config;
    in self.lintMarkdown {
      inherit name;
      config = if c.config == null then
        sourceFile "lint-markdown-config.rb"
      else
        projectPath c.config;
      targets = builtins.map projectPath c.targets;
      rulesets = if c.rulesets == null then
        sourceFile "lint-markdown-rulesets.rb"
      else
        projectPath c.rulesets;
    });

  lintNix = targetsModule "lintNix";

  # `/lintPython/imports/<name>`, `/lintPython/module/<name>`, and for a directory of modules
  # one job per subdirectory plus `/lintPython/dirOfModules/<name>` for them all
  # (`dirsOfModules` before 24.02).
  lintPython = config:
    let
      c = withDefaults {
        dirOfModules = { };
        dirsOfModules = { };
        imports = { };
        modules = { };
      } config;
      settings = {
        mypy = sourceFile "lint-python-mypy.cfg";
        prospector = sourceFile "lint-python-prospector.yaml";
      };
      withModuleDefaults = m: { searchPaths = { }; } // m // {
        config = settings // (m.config or { });
      };
      # Before 24.01 a module names its Python version, and makes' settings are fixed.
      module = name: given:
        let m = withModuleDefaults given;
        in self.lintPython ({
          inherit name;
          inherit (m) searchPaths;
          settingsMypy = m.config.mypy;
          settingsProspector = m.config.prospector;
          src = projectPath m.src;
        } // pythonBefore2401 m);
      dirOfModules = name: given:
        let
          m = withModuleDefaults given;
          names = self.projectPathLsDirs m.src;
          modules = builtins.listToAttrs (builtins.map (moduleName: {
            name = "/lintPython/dirOfModules/${name}/${moduleName}";
            value = module moduleName (m // { src = "${m.src}/${moduleName}"; });
          }) names);
        in modules // {
          "/lintPython/dirOfModules/${name}" = self.makeDerivationParallel {
            dependencies = builtins.attrValues modules;
            name = "lint-python-dir-of-modules-for-${name}";
          };
        };
      dirs = c.dirsOfModules // c.dirOfModules;
    in builtins.foldl' (all: name: all // dirOfModules name dirs.${name}) { }
      (builtins.attrNames dirs)
    // perName "lintPython/imports" (name: given:
      let m = { searchPaths = { }; } // given;
      in self.lintPythonImports {
        inherit (m) searchPaths;
        config = projectPath m.config;
        inherit name;
        src = projectPath m.src;
      }) c.imports
    // perName "lintPython/module" module c.modules;

  lintTerraform = config:
    let c = withDefaults { config = null; } config;
    in terraformModules "lintTerraform" { } (name: m:
      self.lintTerraform {
        inherit (m) setup version;
        config = if c.config == null then
          sourceFile "lint-terraform-config.hcl"
        else
          projectPath c.config;
        inherit name;
        src = "." + m.src;
      }) config;

  lintWithAjv = perName "lintWithAjv" (name: { schema, targets }:
    self.lintWithAjv {
      inherit name;
      schema = projectPath schema;
      targets = builtins.map projectPath targets;
    });

  lintWithLizard = perName "lintWithLizard" (name: targets:
    self.lintWithLizard {
      inherit name;
      targets = builtins.map projectPath targets;
    });

  # `/pipeline/<name>` runs the jobs' actions one after the other;
  # `/pipelineOnGitlab/<name>` writes the pipeline as GitLab CI YAML at `gitlabPath`.
  pipelines = config:
    let
      withJobDefaults = job:
        withDefaults {
          args = [ ];
          gitlabExtra = { };
          image = "ghcr.io/fluidattacks/makes:${release}";
        } job;
      pipelineOf = p: withDefaults { gitlabPath = null; jobs = [ ]; } p // {
        jobs = builtins.map withJobDefaults (p.jobs or [ ]);
      };
      makeJob = { output, args, ... }:
        let name = pipelineJobName output args;
        in {
          inherit name;
          value = makeScript {
            replace = {
              __argArgs__ = toBashArray args;
              __argOutput__ = self.outputs.${output};
            };
            name = "job-for-${name}";
            entrypoint = template "pipeline-job.sh";
          };
        };
      makeGitlabJob = { args, gitlabExtra, image, output, ... }: {
        name = pipelineJobName output args;
        value = self.attrsMerge [
          {
            inherit image;
            interruptible = true;
            needs = [ ];
            script = if args == [ ] then
              [ "m . ${output}" ]
            else
              [ "m . ${output} ${self.escapeShellArgs args}" ];
            variables = {
              GIT_DEPTH = 3;
              MAKES_GIT_DEPTH = 3;
            };
          }
          gitlabExtra
        ];
      };
      pipeline = name: given:
        let p = pipelineOf given;
        in {
          "/pipeline/${name}" = makeScript {
            entrypoint = template "pipeline.sh";
            replace.__argJobs__ =
              self.toBashMap (builtins.listToAttrs (builtins.map makeJob p.jobs));
            name = "pipeline-for-${name}";
          };
        } // (if p.gitlabPath == null then { } else {
          "/pipelineOnGitlab/${name}" = makeScript {
            name = "pipeline-on-gitlab-for-${name}";
            replace = {
              __argGitlabCiYaml__ = self.toFileYaml "gitlab-ci.yaml"
                (builtins.listToAttrs (builtins.map makeGitlabJob p.jobs));
              __argGitlabPath__ = "." + p.gitlabPath;
            };
            searchPaths.bin = [ __nixpkgs__.git ];
            entrypoint = template "pipeline-on-gitlab.sh";
          };
        });
    in builtins.foldl' (all: name: all // pipeline name config.${name}) { }
    (builtins.attrNames config);

  secretsForAwsFromEnv = perName "secretsForAwsFromEnv" (name: config:
    self.makeSecretForAwsFromEnv ({
      accessKeyId = "AWS_ACCESS_KEY_ID";
      defaultRegion = "AWS_DEFAULT_REGION";
      secretAccessKey = "AWS_SECRET_ACCESS_KEY";
      sessionToken = "AWS_SESSION_TOKEN";
    } // config // { inherit name; }));

  secretsForAwsFromGitlab = perName "secretsForAwsFromGitlab" (name: config:
    self.makeSecretForAwsFromGitlab ({
      duration = 3600;
      retries = 15;
    } // config // { inherit name; }));

  secretsForEnvFromSops = perName "secretsForEnvFromSops" (name: { manifest, vars }:
    self.makeSecretForEnvFromSops {
      manifest = projectPath manifest;
      inherit name vars;
    });

  secretsForGpgFromEnv = perName "secretsForGpgFromEnv" (name: asciiArmorBlocks:
    self.makeSecretForGpgFromEnv { inherit name asciiArmorBlocks; });

  secretsForKubernetesConfigFromAws = perName "secretsForKubernetesConfigFromAws"
    (name: { cluster, region }:
      self.makeSecretForKubernetesConfigFromAws { inherit cluster name region; });

  secretsForTerraformFromEnv = perName "secretsForTerraformFromEnv" (name: mapping:
    self.makeSecretForTerraformFromEnv { inherit name mapping; });

  secureKubernetesWithRbacPolice = perName "secureKubernetesWithRbacPolice" (name: given:
    let c = withDefaults { setup = [ ]; severity = "Low"; } given;
    in self.secureKubernetesWithRbacPolice {
      inherit name;
      inherit (c) setup severity;
    });

  secureNixWithVulnix = perName "secureNixWithVulnix" (name: given:
    let c = withDefaults { whitelist = { }; } given;
    in self.secureNixWithVulnix {
      inherit name;
      inherit (c) derivations whitelist;
    });

  # Releases before 24.02 also took `python` (the interpreter's version).
  securePythonWithBandit = perName "securePythonWithBandit" (name: { target, ... }:
    self.securePythonWithBandit {
      inherit name;
      target = projectPath target;
    });

  taintTerraform = terraformModules "taintTerraform" { reDeploy = false; } (name: c:
    self.taintTerraform {
      inherit name;
      inherit (c) reDeploy setup resources version;
      src = "." + c.src;
    });

  testLicense = config: enabled "testLicense" config self.testLicense;

  testPullRequest = terraformModules "testPullRequest" { extraArgs = [ ]; } (name: c:
    self.testPullRequest {
      inherit (c) dangerfile extraArgs setup;
      inherit name;
    });

  testPython = perName "testPython" (name: given:
    let
      c = withDefaults {
        extraSrcs = { };
        extraFlags = [ ];
        searchPaths = { };
      } given;
    in self.testPython ({
      inherit name;
      inherit (c) extraSrcs extraFlags searchPaths src;
      project = projectPath "/";
    } // pythonBefore2401 c));

  testTerraform = terraformModules "testTerraform" { debug = false; } (name: c:
    self.testTerraform {
      inherit (c) debug setup version;
      inherit name;
      src = "." + c.src;
    });

  workspaceForTerraformFromEnv = terraformModules "workspaceForTerraformFromEnv"
    { variable = ""; } (name: c:
      self.makeWorkspaceForTerraformFromEnv {
        inherit name;
        inherit (c) setup variable version;
        src = "." + c.src;
      });
}
