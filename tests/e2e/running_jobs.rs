//! Running jobs as makes runs them: `makes [SOURCE] JOB [ARGS...]` with SOURCE `.`, a
//! directory, `local:DIR` or a git revision (`github:OWNER/REPO@REV`, fetched with git); a
//! result with an action (makes-action.sh, as makeScript's) runs after its build with ARGS,
//! the caller's environment and directory, and its exit code; `--no-run` prints the path;
//! `makes` alone lists the jobs.

use crate::common::{assert_success, have_tool, run, write_project, Sandbox};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `/greet` and `/fail` have an action, made as makes' makeDerivation makes one: a script
/// whose interpreter is a store path (a bash copied from the host) and `makes-action.sh`
/// running `OUT/bin/<name> ARGS...`. `/file` has none.
const PROJECT: &str = r#"{ makeDerivation, ... }:
let
  shell = makeDerivation { name = "shell"; builder = "mkdir -p $out/bin; cp /bin/bash $out/bin/bash"; };
  script = name: body: makeDerivation {
    inherit name;
    env.envBody = body;
    env.envShell = "${shell}/bin/bash";
    builder = ''
      mkdir -p $out/bin
      printf '#!%s\n%s\n' "$envShell" "$envBody" > $out/bin/${name}
      printf '#!%s\nout="$1"\nshift 1\n"$out/bin/${name}" "$@"\n' "$envShell" > $out/makes-action.sh
      chmod +x $out/bin/${name} $out/makes-action.sh
    '';
  };
in {
  jobs."/greet" = script "greet" ''
    echo "args: $*"
    echo "greeting: $GREETING"
    echo "cwd: $PWD"
  '';
  jobs."/fail" = script "fail" "echo failing; exit 3";
  jobs."/file" = makeDerivation { name = "file"; builder = "echo built > $out"; };
}"#;

fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("proj");
    write_project(&dir, PROJECT);
    dir
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one path `makes` printed, after checking it holds the result of `/file`.
fn assert_file_result(out: &Output) {
    assert_success(out);
    let text = stdout(out);
    let path = Path::new(text.trim_end());
    assert_eq!(text.lines().count(), 1, "{text}");
    assert_eq!(
        std::fs::read_to_string(path).expect("the result"),
        "built\n"
    );
}

#[test]
fn a_source_directory_comes_before_the_job() {
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    assert_file_result(&run(sandbox
        .makes()
        .current_dir(&project)
        .args([".", "/file"])));
    assert_file_result(&run(sandbox
        .makes()
        .current_dir(sandbox.dir.path())
        .args(["proj", "/file"])));
    assert_file_result(&run(sandbox
        .makes()
        .current_dir(sandbox.dir.path())
        .args(["local:proj", "/file"])));
    assert_file_result(&run(sandbox.makes().arg(&project).arg("/file")));
    // From a directory inside the project, as `makes /job` finds it.
    let nested = project.join("sub");
    std::fs::create_dir(&nested).expect("mkdir");
    assert_file_result(&run(sandbox
        .makes()
        .current_dir(&nested)
        .args([".", "/file"])));

    // Without an action, the words after the job are makes' options, checked as such.
    let out = sandbox
        .makes()
        .current_dir(&project)
        .args([".", "/file", "--bogus"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

    let out = sandbox
        .makes()
        .current_dir(&project)
        .args(["nowhere", "/file"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nowhere"));
}

#[test]
fn an_action_runs_with_the_arguments_environment_and_directory_of_the_caller() {
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let out = run(sandbox
        .makes()
        .current_dir(&project)
        .env("GREETING", "hi there")
        .args([".", "/greet", "--name", "x y"]));
    assert_success(&out);
    assert_eq!(
        stdout(&out),
        format!(
            "args: --name x y\ngreeting: hi there\ncwd: {}\n",
            project.display()
        )
    );

    // Its exit code is makes' exit code.
    let out = sandbox
        .makes()
        .current_dir(&project)
        .args([".", "/fail"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert_eq!(stdout(&out), "failing\n");

    // --no-run builds it and prints its path only.
    let out = run(sandbox
        .makes()
        .current_dir(&project)
        .args(["--no-run", ".", "/greet", "--name", "x"]));
    let path = PathBuf::from(stdout(&out).trim_end());
    assert!(path.join("bin/greet").is_file() && path.join("makes-action.sh").is_file());
    // The out-link points at it, as for every job.
    assert_eq!(
        std::fs::read_link(sandbox.cache().join("makes/out-greet")).expect("out-link"),
        path
    );
}

#[test]
fn an_action_runs_for_a_user_who_is_not_root() {
    if !crate::common::running_as_root() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    chown_nobody(sandbox.dir.path());
    let out = run(sandbox
        .makes()
        .current_dir(&project)
        .env("GREETING", "unprivileged")
        .args([".", "/greet", "a"])
        .uid(65534)
        .gid(65534));
    assert_eq!(
        stdout(&out),
        format!(
            "args: a\ngreeting: unprivileged\ncwd: {}\n",
            project.display()
        )
    );
}

fn chown_nobody(dir: &Path) {
    assert_success(
        &Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(dir)
            .output()
            .expect("chown runs"),
    );
}

#[test]
fn without_a_job_the_jobs_are_listed() {
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    for args in [&["."][..], &[][..]] {
        let out = sandbox
            .makes()
            .current_dir(&project)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("  /fail\n  /file\n  /greet\n"),
            "{args:?}: {stderr}"
        );
    }
}

/// A bare repository holding the project in one commit; returns (bare dir, commit).
fn bare_repository(sandbox: &Sandbox, project: &Path) -> (PathBuf, String) {
    let git = |dir: &Path, args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .output()
            .expect("git runs");
        assert_success(&out);
        stdout(&out).trim().to_owned()
    };
    let bare = sandbox.dir.path().join("bare.git");
    std::fs::create_dir(&bare).expect("mkdir");
    git(&bare, &["init", "-q", "--bare"]);
    git(project, &["init", "-q"]);
    git(project, &["add", "."]);
    git(project, &["commit", "-qm", "the project"]);
    git(
        project,
        &[
            "push",
            "-q",
            bare.to_str().expect("utf-8"),
            "HEAD:refs/heads/main",
        ],
    );
    let rev = git(project, &["rev-parse", "HEAD"]);
    (bare, rev)
}

/// `makes` with git reaching https://github.com/me/proj at the bare repository, through git's
/// own configuration.
fn makes_with_github(sandbox: &Sandbox, bare: &Path) -> Command {
    let mut cmd = sandbox.makes();
    cmd.env("GIT_CONFIG_COUNT", "1")
        .env(
            "GIT_CONFIG_KEY_0",
            format!("url.file://{}.insteadOf", bare.display()),
        )
        .env("GIT_CONFIG_VALUE_0", "https://github.com/me/proj");
    cmd
}

#[test]
fn a_github_revision_is_fetched_with_git() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let (bare, rev) = bare_repository(&sandbox, &project);
    // Elsewhere than in the project, which is not needed any more.
    std::fs::remove_dir_all(&project).expect("rm");
    let source = format!("github:me/proj@{rev}");
    let out = run(makes_with_github(&sandbox, &bare)
        .current_dir(sandbox.dir.path())
        .args([&source, "/file"]));
    assert_file_result(&out);
    let checkout = sandbox
        .cache()
        .join(format!("makes/sources/github-me-proj-{rev}/proj"));
    assert!(checkout.join("makes.nix").is_file());
    // The action runs in the caller's directory, not in the checkout.
    let out = run(makes_with_github(&sandbox, &bare)
        .current_dir(sandbox.dir.path())
        .env("GREETING", "fetched")
        .args([&source, "/greet", "1"]));
    assert_eq!(
        stdout(&out),
        format!(
            "args: 1\ngreeting: fetched\ncwd: {}\n",
            sandbox.dir.path().display()
        )
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("from the cache"));
    // A branch works as well as a commit.
    assert_file_result(&run(
        makes_with_github(&sandbox, &bare).args(["github:me/proj@main", "/file"])
    ));

    let bad = "github:me/proj@0123456789abcdef0123456789abcdef01234567";
    let out = makes_with_github(&sandbox, &bare)
        .args([bad, "/file"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("cannot fetch {bad}")), "{stderr}");
    assert!(
        !sandbox
            .cache()
            .join("makes/sources/github-me-proj-0123456789abcdef0123456789abcdef01234567")
            .exists(),
        "a failed fetch leaves nothing in the cache"
    );
}

#[test]
fn a_local_revision_is_fetched_from_the_repository() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = project(&sandbox);
    let (bare, rev) = bare_repository(&sandbox, &project);
    let out = run(sandbox
        .makes()
        .arg(format!("local:{}@{rev}", bare.display()))
        .arg("/file"));
    assert_file_result(&out);
}

#[test]
fn a_make_script_job_runs_its_script_with_the_arguments() {
    if !have_tool("nix-build") {
        return;
    }
    let sandbox = Sandbox::new();
    let nixpkgs = crate::common::host_tools_nixpkgs(&sandbox);
    let project = sandbox.dir.path().join("scripts");
    write_project(
        &project,
        r#"{ makeScript, ... }: {
  jobs."/greet" = makeScript {
    name = "greet";
    entrypoint = ''
      info "greeting"
      echo "args: $*"
      echo "who: $WHO"
      exit "''${CODE:-0}"
    '';
  };
}"#,
    );
    let makes = |code: &str| {
        let mut cmd = sandbox.makes();
        // Nix builds the stand-in packages from the host's files, without build users.
        cmd.env(
            "NIX_CONFIG",
            "substituters =\nbuild-users-group =\nsandbox = false",
        )
        .env("MAKES_NIXPKGS", &nixpkgs)
        .env("WHO", "me")
        .env("CODE", code)
        .current_dir(&project)
        .args(["--packages", "nix", ".", "/greet", "--name", "x"]);
        cmd.output().expect("makes runs")
    };
    let out = makes("0");
    assert_success(&out);
    assert_eq!(stdout(&out), "args: --name x\nwho: me\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("[INFO] greeting"));
    let out = makes("3");
    assert_eq!(out.status.code(), Some(3));
}
