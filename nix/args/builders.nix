# makes' builders of its src/args (compute-on-aws-batch, make-dynamodb, calculate-cvss-3,
# deploy-nomad, make-nomad-environment, secure-kubernetes-with-rbac-police,
# secure-nix-with-vulnix, test-pull-request) and 21.09's projectPathMutable, as makes defines
# them (MIT licence), with the differences between its releases:
#   computeOnAwsBatch: 21.10 (memory and vcpus in the manifest), 21.11 (job names
#     normalised, MAKES_AWS_BATCH_COMPAT), 22.05 (parallel, resourceRequirements), 22.11
#     (propagateTags, tags), 23.07 (makes' Python batch-client reading a jobs.json, nextJob),
#     24.01 (dryRun), the client's dependencies being PyPI's wheels rather than nixpkgs';
#   makeDynamoDb: DynamoDB Local 2021-02-08 until 22.11, 2023-02-02 from 23.04;
#   calculateCvss3: a PyPI environment of Python 3.8 until 22.10, 3.11 until 23.07, then
#     makePythonEnvironment over a poetry lock.
# The module of each (nix/modules/default.nix) passes what that release's module passes.
# Evaluated by makes with:
#   self: the makes arguments; release: the makes release whose rules apply;
#   templates: the text of makes' shell templates (nix/args/templates/builders-*).
{ self, release, templates }:
let
  before = version: builtins.compareVersions release version < 0;
  nixpkgs = self.__nixpkgs__;
  # Until 22.11 makes' templates expanded an unset variable with `${VAR:-}`, from 23.04 on
  # with `${VAR-}`.
  ofRelease = template: variables:
    if before "23.04" then
      builtins.replaceStrings (builtins.map (v: "\${${v}-}") variables)
      (builtins.map (v: "\${${v}:-}") variables) template
    else
      template;

  # `${NAME}` of each variable, substituted by envsubst when the job is sent.
  batchEnvironment = environment:
    [{ name = "CI"; value = "true"; }]
    ++ (if before "21.11" then [ ] else [{ name = "MAKES_AWS_BATCH_COMPAT"; value = "true"; }])
    ++ builtins.map (name: { inherit name; value = "\${${name}}"; }) environment;

  # The shell forms, 21.10 to 23.06: the manifest and command are JSON files whose
  # `${VARIABLE}`s the entrypoint substitutes, then `aws batch submit-job`.
  computeOnAwsBatchScript =
    { allowDuplicates, attempts, attemptDurationSeconds, command, definition, environment
    , includePositionalArgsInName, memory, name, queue, setup, vcpus, ... }@args:
    self.makeScript {
      name = "compute-on-aws-batch-for-${name}";
      replace = {
        __argAllowDuplicates__ = allowDuplicates;
        __argAttempts__ = attempts;
        __argAttemptDurationSeconds__ = attemptDurationSeconds;
        __argCommand__ = self.toFileJson "command.json" command;
        __argDefinition__ = definition;
        __argIncludePositionalArgsInName__ = includePositionalArgsInName;
        __argManifest__ = self.toFileJson "manifest.json" ({
          environment = batchEnvironment environment;
        } // (if before "22.05" then {
          inherit memory vcpus;
        } else {
          resourceRequirements = [
            { type = "VCPU"; value = toString vcpus; }
            { type = "MEMORY"; value = toString memory; }
          ];
        }));
        __argName__ = name;
        __argQueue__ = queue;
      } // (if before "22.05" then { } else {
        __argParallel__ = args.parallel;
      }) // (if before "22.11" then { } else {
        __argPropagate__ = args.propagateTags;
        __argTags__ = builtins.concatStringsSep ","
          (builtins.map (key: "${key}=${args.tags.${key}}") (builtins.attrNames args.tags));
      });
      searchPaths = {
        bin = [ nixpkgs.awscli ]
          ++ (if before "21.11" then [ ] else [ nixpkgs.gnugrep ])
          ++ [ nixpkgs.envsubst ]
          ++ (if before "21.11" then [ ] else [ nixpkgs.gnused ])
          ++ [ nixpkgs.jq ];
        source = setup;
      };
      entrypoint = if before "21.11" then
        templates.computeOnAwsBatch2110
      else if before "22.05" then
        templates.computeOnAwsBatch2111
      else if before "22.11" then
        templates.computeOnAwsBatch2205
      else
        templates.computeOnAwsBatch2211;
    };

  # 23.07 on: makes' batch-client, a Python program of makes' own source (here its 24.01
  # files, with 23.07's own `_cli`, `actions`, `core` and `decode`), sends the jobs of a
  # jobs.json, following `nextJob`. makes installs its dependencies from nixpkgs' python311
  # packages (and fa-purity from its repository); here they are the same libraries' wheels
  # from PyPI, pinned and installed by makePythonPypiEnvironment into the package set's
  # python311, which runs makes' source. The entry point is its `batch-client` script.
  batchClientFiles = [
    "batch_client/__init__.py"
    "batch_client/_cli.py"
    "batch_client/_logger.py"
    "batch_client/actions.py"
    "batch_client/api/__init__.py"
    "batch_client/api/_client_1/__init__.py"
    "batch_client/api/_client_1/_list_jobs.py"
    "batch_client/api/_client_1/_send_job.py"
    "batch_client/api/_core.py"
    "batch_client/core.py"
    "batch_client/decode.py"
    "batch_client/py.typed"
    "batch_client/utils.py"
  ];
  batchClientText = path:
    if before "24.01" && templates ? "batchClient2307/${path}" then
      templates."batchClient2307/${path}"
    else
      templates."batchClient2401/${path}";
  batchClientSource = self.makeDerivation {
    name = "batch-client-source";
    builder = builtins.concatStringsSep "\n" (builtins.map (path:
      let file = builtins.toFile (baseNameOf path) (batchClientText path);
      in ''
        mkdir -p "$out/lib/python3.11/site-packages/${dirOf path}"
        cp ${file} "$out/lib/python3.11/site-packages/${path}"
      '') batchClientFiles);
  };
  batchClient = self.makeScript {
    name = "batch-client";
    entrypoint = ''
      python -c 'import sys; from batch_client._cli import main; sys.argv[0] = "batch-client"; main()' "$@"
    '';
    searchPaths = {
      bin = [ nixpkgs.python311 ];
      pythonPackage311 = [ batchClientSource ];
      source = [
        (self.makePythonPypiEnvironment {
          name = "batch-client";
          sourcesYaml = builtins.toFile "sources.yaml" templates.batchClientSources;
        })
      ];
    };
  };
  computeOnAwsBatchClient = { name, setup, ... }@given:
    let
      applyDefaults = { allowDuplicates ? false, attempts ? 1, attemptDurationSeconds
        , command, definition, dryRun ? false, environment ? [ ]
        , includePositionalArgsInName ? true, name, nextJob ? { }, memory, parallel ? 1
        , propagateTags ? true, queue, tags ? { }, vcpus }: {
          inherit allowDuplicates attempts attemptDurationSeconds command definition
            environment includePositionalArgsInName name nextJob memory parallel
            propagateTags queue tags vcpus;
        } // (if before "24.01" then { } else { inherit dryRun; });
      encodeDraft = draft':
        let draft = applyDefaults (removeAttrs draft' [ "setup" ]);
        in draft // {
          environment = [
            { name = "CI"; value = "true"; }
            { name = "MAKES_AWS_BATCH_COMPAT"; value = "true"; }
          ] ++ builtins.map (name: { inherit name; }) draft.environment;
          nextJob = if draft.nextJob == { } then { } else encodeDraft draft.nextJob;
        };
    in self.makeScript {
      name = "compute-on-aws-batch-for-${name}";
      replace.__argJobs__ = self.toFileJson "jobs.json" (encodeDraft given);
      searchPaths = {
        bin = [ batchClient ];
        source = setup;
      };
      entrypoint = templates.computeOnAwsBatch;
    };

  computeOnAwsBatchArguments = if before "22.05" then
    [ ]
  else if before "22.11" then
    [ "parallel" ]
  else if before "23.07" then
    [ "parallel" "propagateTags" "tags" ]
  else if before "24.01" then
    [ "nextJob" "parallel" "propagateTags" "tags" ]
  else
    [ "dryRun" "nextJob" "parallel" "propagateTags" "tags" ];

  # makes' functions have fixed formals: an argument of a later release is refused.
  withFormals = function: extra:
    let
      formals = builtins.listToAttrs (builtins.map (name: { inherit name; value = false; })
        ([ "allowDuplicates" "attempts" "attemptDurationSeconds" "command" "definition"
           "environment" "includePositionalArgsInName" "memory" "name" "queue" "setup"
           "vcpus" ] ++ extra));
    in args:
      let unexpected = builtins.filter (n: !(formals ? ${n})) (builtins.attrNames args);
      in if unexpected != [ ] then
        throw "computeOnAwsBatch of release ${release} called with unexpected argument '${builtins.head unexpected}'"
      else
        function args;

  dynamoDbZip = if before "23.04" then
    self.fetchUrl {
      url = "https://s3-us-west-2.amazonaws.com/dynamodb-local/dynamodb_local_2021-02-08.zip";
      sha256 = "01xgqk2crrnpvzr3xkd3mwiwcs6bfxqhbbyard6y8c0jgibm31pk";
    }
  else
    self.fetchUrl {
      url = "https://s3-us-west-2.amazonaws.com/dynamodb-local/dynamodb_local_2023-02-02.zip";
      sha256 = "0qbn0wldcb2mnblsawfavzhklfrlmrka5nmhqf3l047yfmf6vj03";
    };

  nomadOf = version:
    {
      "1.0" = nixpkgs.nomad_1_0;
      "1.1" = nixpkgs.nomad_1_1;
    }.${version};
in {
  computeOnAwsBatch = withFormals
    (if before "23.07" then computeOnAwsBatchScript else computeOnAwsBatchClient)
    computeOnAwsBatchArguments;

  makeDynamoDb = { name, host ? "127.0.0.1", port ? "8022", data ? [ ], dataDerivation ? [ ]
    , infra ? "", daemonMode ? false, ... }:
    let
      dbData = data ++ dataDerivation;
      hasInfra = builtins.stringLength infra > 0;
    in self.makeScript {
      name = "dynamodb-for-${name}";
      replace = {
        __argPort__ = port;
        __argHost__ = host;
        __argDynamoZip__ = dynamoDbZip;
        __argData__ = self.toBashArray dbData;
        __argShouldPopulate__ = builtins.length dbData > 0;
        __argInfra__ = infra;
        __argDaemonMode__ = daemonMode;
      };
      searchPaths = {
        bin = [ nixpkgs.openjdk_headless nixpkgs.unzip nixpkgs.awscli ]
          ++ (if hasInfra then [ nixpkgs.awscli ] else [ ]);
        source = [ self.managePorts ]
          ++ (if hasInfra then [ (self.makeTerraformEnvironment { version = "1.0"; }) ] else [ ]);
      };
      entrypoint = ofRelease templates.makeDynamoDb [ "POPULATE" "DAEMON" ];
    };

  calculateCvss3 = envTarget:
    self.makeDerivation {
      env = {
        inherit envTarget;
        envScriptCvss = builtins.toFile "cvss.py" templates.calculateCvss3Py;
      };
      name = "calculate-cvss-3";
      searchPaths.source = [
        (if before "24.01" then
          self.makePythonPypiEnvironment {
            name = "cvss";
            sourcesYaml = builtins.toFile "sources.yaml" (if before "22.11" then
              templates.calculateCvss3Python38
            else
              templates.calculateCvss3Python311);
          }
        else
          self.makePythonEnvironment {
            pythonProjectDir = self.makeDerivation {
              name = "calculate-cvss-3-project";
              env = {
                envPyproject = builtins.toFile "pyproject.toml" templates.calculateCvss3Pyproject;
                envPoetryLock = builtins.toFile "poetry.lock" templates.calculateCvss3PoetryLock;
              };
              builder = ''
                mkdir "$out"
                cp "$envPyproject" "$out/pyproject.toml"
                cp "$envPoetryLock" "$out/poetry.lock"
              '';
            };
            pythonVersion = "3.11";
          })
      ];
      builder = templates.calculateCvss3;
    };

  makeNomadEnvironment = { version }: self.makeSearchPaths { bin = [ (nomadOf version) ]; };

  deployNomad = { setup, name, version, src, namespace }:
    self.makeScript {
      entrypoint = templates.deployNomad;
      replace = {
        __argSrc__ = src;
        __argNamespace__ = namespace;
      };
      name = "deploy-nomad-for-${name}";
      searchPaths.source = [ (self.makeNomadEnvironment { inherit version; }) ] ++ setup;
    };

  secureKubernetesWithRbacPolice = { name, setup, severity, ... }:
    let
      bin = self.makeDerivation {
        name = "make-rbac-police-binary";
        env = {
          envGlibc = nixpkgs.glibc;
          envUnpatchedBin = self.fetchUrl {
            url = "https://github.com/PaloAltoNetworks/rbac-police/releases/download/v1.0.1/rbac-police_v1.0.1_linux_amd64";
            sha256 = "0k4dvc9r165q9lwidnks0vm7kqzi55l29p6iw9xy9l3982saihvi";
          };
        };
        searchPaths.bin = [ nixpkgs.patchelf ];
        builder = ''
          copy "$envUnpatchedBin" "$out"
          chmod +x "$out"
          patchelf --set-interpreter "$envGlibc/lib/ld-linux-x86-64.so.2" "$out"
        '';
      };
      # The policies: the repository's tree, fetched when the job is built (fetchGithub)
      # until 24.01, during evaluation (builtins.fetchTarball) from 24.02.
      repo = if before "24.02" then
        self.fetchGithub {
          owner = "PaloAltoNetworks";
          repo = "rbac-police";
          rev = "ffe47f709a747fc92cbeeb2eec688b4ea544b958";
          sha256 = "0hna14rwkfadqq2higzz033hkdpxpnzi5vg340xsk50ipr41g689";
        }
      else
        builtins.fetchTarball {
          url = "https://github.com/PaloAltoNetworks/rbac-police/archive/ffe47f709a747fc92cbeeb2eec688b4ea544b958.tar.gz";
          sha256 = "0hna14rwkfadqq2higzz033hkdpxpnzi5vg340xsk50ipr41g689";
        };
    in self.makeScript {
      name = "secure-kubernetes-with-rbac-police-for-${name}";
      replace = {
        __argBin__ = bin;
        __argRepo__ = repo;
        __argSeverity__ = severity;
      };
      searchPaths = {
        bin = [ nixpkgs.jq ];
        source = setup;
      };
      entrypoint = templates.secureKubernetesWithRbacPolice;
    };

  # vulnix as makes builds it: its own default.nix of a pinned commit, over makes' nixpkgs.
  # makes fetches the commit with fetchGithub (Nix's fetchzip) and imports it; here the same
  # tree is fetched during evaluation (builtins.fetchTarball), as an import needs it then.
  secureNixWithVulnix = { name, derivations, whitelist }:
    assert self.isLinux;
    let
      vulnixSrc = builtins.fetchTarball {
        url = "https://github.com/flyingcircusio/vulnix/archive/06daccda0e51098fbdbc65f61b6663c5c6df9358.tar.gz";
        sha256 = "1x22d4d89f77b3jbn7y97308j157fc92qykm4z0i4qrqsvbwqwqb";
      };
      vulnix = import vulnixSrc {
        nixpkgs = self.__nixpkgsSrc__;
        pkgs = nixpkgs;
      };
    in self.makeScript {
      name = "secure-nix-with-vulnix-for-${name}";
      entrypoint = templates.secureNixWithVulnix;
      replace = {
        __argDerivations__ = self.toBashArray derivations;
        __argWhitelist__ = self.toFileToml "whitelist.toml" whitelist;
      };
      searchPaths.bin = [ nixpkgs.nix vulnix ];
    };

  # danger (JavaScript) from makes' package lock (24.01's; 23.04 and 23.07 pinned older
  # danger releases).
  testPullRequest = { dangerfile, extraArgs, name, setup, ... }:
    let
      env = self.makeNodeJsEnvironment {
        name = "danger";
        nodeJsVersion = "18";
        packageJson = builtins.toFile "package.json" templates.testPullRequestPackage;
        packageLockJson =
          builtins.toFile "package-lock.json" templates.testPullRequestPackageLock;
      };
    in self.makeScript {
      entrypoint = templates.testPullRequest;
      replace = {
        __argDangerfile__ = dangerfile;
        __argExtraArgs__ = self.escapeShellArgs extraArgs;
      };
      name = "test-pull-request-for-${name}";
      searchPaths.source = [ env ] ++ setup;
    };

  # 21.09: the project's own directory (a string: the working tree, not a store copy).
  projectPathMutable = rel: toString self.projectSrc + rel;
}
