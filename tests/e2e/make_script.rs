//! makeScript as makes writes it, run with `makes . JOB`: bash, coreutils and cacert from
//! makes' own package set `__nixpkgs__` (the release's pinned nixpkgs, or the `makes-nixpkgs`
//! setting; never `NIX_PATH`'s `<nixpkgs>`, never the project's `inputs.nixpkgs`),
//! `SSL_CERT_FILE`, `STATE` under the release's state directories, search paths cleared and
//! then set (`source` with arguments, `kubeConfig`), `help` shown by `--help`, and an
//! entrypoint given as a store file (`projectPath "/x.sh"`).

use crate::common::{assert_success, have_tool, host_tools_nixpkgs, run, write_project, Sandbox};
use std::path::Path;
use std::process::{Command, Output};

/// `makes ARGS` building with Nix (no substituters, no build users) in `project`.
fn makes_in(sandbox: &Sandbox, project: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env(
        "NIX_CONFIG",
        "substituters =\nbuild-users-group =\nsandbox = false",
    )
    .current_dir(project)
    .args(["--packages", "nix"]);
    cmd
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A package set nothing may take a package from: evaluating it is an error.
fn forbidden_set(dir: &Path, what: &str) {
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(
        dir.join("default.nix"),
        format!("{{ ... }}: throw \"{what} must not be used\"\n"),
    )
    .expect("write");
}

const PINNED_PROJECT: &str = r#"{ inputs, makeScript, ... }: {
  inputs.nixpkgs = ./pkgs;
  jobs."/where" = makeScript {
    name = "where";
    searchPaths.bin = [ inputs.nixpkgs.tool ];
    entrypoint = ''
      echo "bash: $BASH"
      tool
    '';
  };
}"#;

/// The project's own nixpkgs: only `tool` is taken from it; its bash is never used.
const PROJECT_NIXPKGS: &str = r#"{ ... }:
let
  mk = name: script: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" script ];
    PATH = "/usr/bin:/bin";
  };
in {
  bash = mk "bash-of-the-project" "mkdir -p $out/bin; printf 'echo wrong bash' > $out/bin/bash";
  tool = mk "tool-1.0" "mkdir -p $out/bin; printf '#!/bin/sh\necho the project tool\n' > $out/bin/tool; chmod +x $out/bin/tool";
}
"#;

#[test]
fn scripts_take_bash_and_coreutils_from_makes_package_set_never_from_nix_path() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("pinned");
    write_project(&project, PINNED_PROJECT);
    std::fs::create_dir_all(project.join("pkgs")).expect("mkdir");
    std::fs::write(project.join("pkgs/default.nix"), PROJECT_NIXPKGS).expect("write");
    let nix_path_set = sandbox.dir.path().join("nix-path-nixpkgs");
    forbidden_set(&nix_path_set, "NIX_PATH's nixpkgs");
    let makes_set = host_tools_nixpkgs(&sandbox);
    let check = |out: &Output| {
        assert_success(out);
        let text = stdout(out);
        assert!(text.starts_with("bash: /nix/store/"), "{text}");
        assert!(text.contains("-bash-host/bin/bash\n"), "{text}");
        assert!(text.ends_with("the project tool\n"), "{text}");
    };
    // The environment variable.
    check(&run(makes_in(&sandbox, &project)
        .env("NIX_PATH", format!("nixpkgs={}", nix_path_set.display()))
        .env("MAKES_NIXPKGS", &makes_set)
        .args([".", "/where"])));
    // The option on the command line.
    check(&run(makes_in(&sandbox, &project)
        .env("NIX_PATH", format!("nixpkgs={}", nix_path_set.display()))
        .arg("--option")
        .arg("makes-nixpkgs")
        .arg(&makes_set)
        .args([".", "/where"])));
    // makes.conf.
    let config = sandbox.dir.path().join("config");
    std::fs::create_dir_all(config.join("makes")).expect("mkdir");
    std::fs::write(
        config.join("makes/makes.conf"),
        format!("makes-nixpkgs = {}\n", makes_set.display()),
    )
    .expect("write");
    check(&run(makes_in(&sandbox, &project)
        .env("NIX_PATH", format!("nixpkgs={}", nix_path_set.display()))
        .env("XDG_CONFIG_HOME", &config)
        .args([".", "/where"])));
}

#[test]
fn makes_package_set_is_the_nixpkgs_the_release_pins() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("release");
    write_project(
        &project,
        r#"{ __nixpkgs__, inputs, makeContainerImage, ... }: {
  jobs."/image" = makeContainerImage { layers = [ __nixpkgs__.hello inputs.nixpkgs.jq ]; };
}"#,
    );
    let sets = |extra: &[&str]| -> Vec<String> {
        let out = run(sandbox
            .makes()
            .env("NIX_PATH", "nixpkgs=/nonexistent")
            .arg("--project")
            .arg(&project)
            .args(extra)
            .args(["show", "/image"]));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        doc["contents"]
            .as_array()
            .expect("contents")
            .iter()
            .map(|c| c["packageSet"].as_str().expect("a set").to_owned())
            .collect()
    };
    // 24.12's src/nix/sources.json, for both: inputs.nixpkgs defaults to __nixpkgs__.
    let latest = "github:nixos/nixpkgs/5f5210aa20e343b7e35f40c033000db0ef80d7b9?sha256=0yc83iqbzj1gd651x6p2wx7a76wfpifaq7jxz4srbinaglfwfb07";
    assert_eq!(sets(&[]), [latest, latest]);
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/22.09\"; }; }\n",
    )
    .expect("write");
    let of_22_09 = "github:nixos/nixpkgs/b42e50fe36242b1b205a7d501b7911d698218086?sha256=0wkdgbn2pkqx3cgp1zicsq310443yr6kw6xalk228fqbavj481ni";
    assert_eq!(sets(&[]), [of_22_09, of_22_09]);
    let elsewhere = sandbox.dir.path().join("elsewhere");
    let path = format!("path:{}", elsewhere.display());
    assert_eq!(
        sets(&["--option", "makes-nixpkgs", &elsewhere.to_string_lossy()]),
        [path.as_str(), path.as_str()]
    );
}

const SCRIPT_PROJECT: &str = r#"{ makeScript, projectPath, ... }: {
  IDENTIFIER
  jobs."/check" = makeScript {
    name = "check";
    entrypoint = projectPath "/x.sh";
    help = ./help.md;
    searchPaths = {
      source = [ [ ./lib.sh "a b" "c" ] ./plain.sh ];
      kubeConfig = [ ./kube.yaml ];
    };
  };
}"#;

const ENTRYPOINT: &str = r#"echo "cert: $(cat "$SSL_CERT_FILE")"
echo "state: $STATE"
test -d "$STATE" && echo "state exists"
echo "kube: ${KUBECONFIG#/nix/store/*-}"
echo "sourced: $SOURCED $PLAIN"
echo "python: $PYTHONPATH"
echo "args: $*"
"#;

#[test]
fn scripts_set_up_certificates_state_and_search_paths_as_makes_does() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("my-proj");
    write_project(&project, &SCRIPT_PROJECT.replace("IDENTIFIER", ""));
    for (file, text) in [
        ("x.sh", ENTRYPOINT),
        ("lib.sh", "export SOURCED=\"$#:$1|$2\"\n"),
        ("plain.sh", "export PLAIN=plain\n"),
        ("kube.yaml", "apiVersion: v1\n"),
        ("help.md", "# check\n\nChecks things.\n"),
    ] {
        std::fs::write(project.join(file), text).expect("write");
    }
    let makes_set = host_tools_nixpkgs(&sandbox);
    let home = sandbox.dir.path();
    let run_check = |args: &[&str]| {
        run(makes_in(&sandbox, &project)
            .env("MAKES_NIXPKGS", &makes_set)
            .env("PYTHONPATH", "/from-the-caller")
            .args([".", "/check"])
            .args(args))
    };
    let out = run_check(&["one", "two"]);
    assert_success(&out);
    // No projectIdentifier: the project's state directory is the global one.
    let state = format!("{}/.cache/makes/state/check", home.display());
    assert_eq!(
        stdout(&out),
        format!(
            "cert: host CA bundle\nstate: {state}\nstate exists\nkube: kube.yaml:/not-set\n\
             sourced: 2:a b|c plain\npython: /not-set/lib/python3.12/site-packages\n\
             args: one two\n"
        )
    );
    // The caller's search paths are cleared first (makeScript's `searchPathsEmpty`: every
    // variable set to `/not-set`, the last kind of each winning), then the script's prepended.

    // The help file, shown as makes shows it.
    let out = run_check(&["--help"]);
    assert_success(&out);
    assert_eq!(stdout(&out), "# check\n\nChecks things.\n");

    // With a projectIdentifier, state is the project's.
    write_project(
        &project,
        &SCRIPT_PROJECT.replace("IDENTIFIER", "projectIdentifier = \"ident\";"),
    );
    let out = run_check(&[]);
    assert_success(&out);
    let state = format!("{}/.cache/makes/state/ident/check", home.display());
    assert!(
        stdout(&out).contains(&format!("state: {state}\n")),
        "{}",
        stdout(&out)
    );

    // makes' projectStateDir option (canonicalised without its trailing `/`).
    write_project(
        &project,
        &SCRIPT_PROJECT.replace(
            "IDENTIFIER",
            "projectIdentifier = \"ident\"; projectStateDir = \"$HOME_IMPURE/custom/\";",
        ),
    );
    let out = run_check(&[]);
    assert_success(&out);
    let state = format!("{}/custom/check", home.display());
    assert!(
        stdout(&out).contains(&format!("state: {state}\n")),
        "{}",
        stdout(&out)
    );
    write_project(
        &project,
        &SCRIPT_PROJECT.replace("IDENTIFIER", "projectIdentifier = \"ident\";"),
    );

    // makes 22.09 keeps state under ~/.makes/state.
    std::fs::write(
        project.join("makes.lock.nix"),
        "{ makesSrc = builtins.fetchGit { url = \"https://github.com/fluidattacks/makes\"; ref = \"refs/tags/22.09\"; }; }\n",
    )
    .expect("write");
    let out = run_check(&[]);
    assert_success(&out);
    let state = format!("{}/.makes/state/ident/check", home.display());
    assert!(
        stdout(&out).contains(&format!("state: {state}\n")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_help_file_must_be_markdown() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("help");
    write_project(
        &project,
        r#"{ makeScript, ... }: {
  jobs."/x" = makeScript { name = "x"; entrypoint = "true"; help = "notes.txt"; };
}"#,
    );
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/x"])
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Invalid help file: notes.txt, must be a markdown file"),
        "{stderr}"
    );
}

#[test]
fn make_derivation_sources_with_arguments_and_reads_a_builder_from_the_store() {
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("drv");
    write_project(
        &project,
        r#"{ makeDerivation, projectPath, ... }: {
  jobs."/built" = makeDerivation {
    name = "built";
    builder = projectPath "/build.sh";
    help = ./help.md;
    searchPaths = {
      source = [ [ ./lib.sh "a b" "c" ] ];
      kubeConfig = [ ./kube.yaml ];
    };
  };
}"#,
    );
    for (file, text) in [
        (
            "build.sh",
            "mkdir \"$out\"\necho \"$SOURCED\" > \"$out/sourced\"\necho \"${KUBECONFIG#/nix/store/*-}\" > \"$out/kube\"\n",
        ),
        ("lib.sh", "export SOURCED=\"$#:$1|$2\"\n"),
        ("kube.yaml", "apiVersion: v1\n"),
        ("help.md", "# built\n"),
    ] {
        std::fs::write(project.join(file), text).expect("write");
    }
    let out = sandbox.build_dir(&project, "/built");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).expect(name);
    assert_eq!(read("sourced"), "2:a b|c\n");
    assert_eq!(read("kube"), "kube.yaml\n");
    assert_eq!(read("README.md"), "# built\n");
}

#[test]
fn makes_lock_records_makes_package_set_like_any_pin() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("locked");
    write_project(
        &project,
        r#"{ makeScript, ... }: {
  jobs."/hello" = makeScript { name = "hello"; entrypoint = "echo hello"; };
}"#,
    );
    let stand_in = crate::common::fixture("nix-packages").join("stand-in-nixpkgs");
    run(makes_in(&sandbox, &project)
        .env("MAKES_NIXPKGS", &stand_in)
        .arg("lock"));
    let lock: serde_json::Value =
        serde_json::from_slice(&std::fs::read(project.join("makes.lock.json")).expect("lock file"))
            .expect("JSON");
    let mut locked: Vec<(String, String)> = lock["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["set"].as_str().expect("set").to_owned(),
                p["attrPath"][0].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    locked.sort();
    let set = format!("path:{}", stand_in.display());
    assert_eq!(
        locked,
        [
            (set.clone(), "bash".to_owned()),
            (set.clone(), "cacert".to_owned()),
            (set, "coreutils".to_owned())
        ]
    );
}
