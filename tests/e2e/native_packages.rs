//! The native nixpkgs helpers (`inputs.nixpkgs.writeText`, `buildEnv`, ...), built without
//! Nix and taking makes' own outputs as packages.

use crate::common::{run, write_project, Sandbox};
use std::path::{Path, PathBuf};

const PROJECT: &str = r##"{ inputs, makeDerivation, fetchNixpkgs, ... }:
let
  pkgs = inputs.nixpkgs;
  pinned = fetchNixpkgs { rev = "0000000000000000000000000000000000000000"; sha256 = "0000000000000000000000000000000000000000000000000000"; };
  tools = makeDerivation {
    name = "tools";
    builder = ''
      mkdir -p $out/bin $out/share/doc
      echo tool > $out/bin/tool
      echo doc > $out/share/doc/tools
    '';
  };
  more = makeDerivation {
    name = "more";
    builder = ''
      mkdir -p $out/bin
      echo more > $out/bin/more
      echo other > $out/bin/tool
    '';
  };
in {
  jobs."/text" = pkgs.writeText "greeting.txt" "hello ${tools}";
  jobs."/script" = pkgs.writeTextFile { name = "script"; text = "#!/bin/sh\necho hi\n"; executable = true; destination = "/bin/script"; };
  jobs."/checked" = pkgs.writeTextFile { name = "checked"; text = "Host *\n"; destination = "/etc/config"; checkPhase = "grep -q Host $target && echo checked > $out/marker"; };
  jobs."/check-fails" = pkgs.writeTextFile { name = "check-fails"; text = "x"; checkPhase = "grep -q absent $target"; };
  jobs."/joined" = pkgs.symlinkJoin { name = "joined"; paths = [ tools more ]; postBuild = "echo built > $out/marker"; };
  jobs."/env" = pkgs.buildEnv { name = "env"; paths = [ tools ]; pathsToLink = [ "/bin" ]; };
  jobs."/collision" = pkgs.buildEnv { name = "collision"; paths = [ tools more ]; };
  jobs."/ignored" = pinned.buildEnv { name = "ignored"; paths = [ tools more ]; ignoreCollisions = true; };
  jobs."/command" = pkgs.runCommand "command" { greeting = "hi"; } "mkdir $out; echo $greeting > $out/said";
}
"##;

fn project(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.dir.path().join("native");
    write_project(&dir, PROJECT);
    dir
}

fn build(sandbox: &Sandbox, project: &Path, job: &str) -> PathBuf {
    let out = run(sandbox.makes().arg("--project").arg(project).arg(job));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn write_text_and_write_text_file() {
    let sandbox = Sandbox::new();
    let p = project(&sandbox);
    let text = build(&sandbox, &p, "/text");
    let content = std::fs::read_to_string(&text).expect("a file");
    assert!(
        content.starts_with("hello /nix/store/") && content.ends_with("-tools"),
        "{content}"
    );
    let script = build(&sandbox, &p, "/script").join("bin/script");
    assert_eq!(
        std::fs::read_to_string(&script).expect("script"),
        "#!/bin/sh\necho hi\n"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&script).expect("meta").permissions(),
    );
    assert_eq!(mode & 0o111, 0o111, "executable");
}

#[test]
fn write_text_file_runs_its_check_phase_after_writing() {
    let sandbox = Sandbox::new();
    let p = project(&sandbox);
    let out = build(&sandbox, &p, "/checked");
    assert_eq!(
        std::fs::read_to_string(out.join("etc/config")).expect("config"),
        "Host *\n"
    );
    // The check ran after the file was written (it found the text).
    assert_eq!(
        std::fs::read_to_string(out.join("marker")).expect("marker"),
        "checked\n"
    );
    let failed = sandbox
        .makes()
        .arg("--project")
        .arg(&p)
        .arg("/check-fails")
        .output()
        .expect("makes runs");
    assert_eq!(
        failed.status.code(),
        Some(1),
        "a failing check fails the build"
    );
}

#[test]
fn symlink_join_and_build_env_link_the_trees() {
    let sandbox = Sandbox::new();
    let p = project(&sandbox);
    let joined = build(&sandbox, &p, "/joined");
    let tool = std::fs::read_link(joined.join("bin/tool")).expect("a symlink");
    assert!(
        tool.to_string_lossy().ends_with("-tools/bin/tool"),
        "the first path wins: {tool:?}"
    );
    assert!(std::fs::read_link(joined.join("bin/more")).is_ok());
    assert!(
        joined.join("bin").is_dir() && !joined.join("bin").is_symlink(),
        "directories are real"
    );
    assert_eq!(
        std::fs::read_to_string(joined.join("marker")).expect("marker"),
        "built\n"
    );

    let env = build(&sandbox, &p, "/env");
    assert!(std::fs::read_link(env.join("bin/tool")).is_ok());
    assert!(!env.join("share").exists(), "only pathsToLink");

    let ignored = build(&sandbox, &p, "/ignored");
    assert!(std::fs::read_link(ignored.join("bin/tool"))
        .expect("link")
        .to_string_lossy()
        .ends_with("-tools/bin/tool"));
}

#[test]
fn build_env_collisions_fail_unless_ignored() {
    let sandbox = Sandbox::new();
    let p = project(&sandbox);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&p)
        .arg("/collision")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("collision between"), "{stderr}");
}

#[test]
fn run_command_exports_its_environment() {
    let sandbox = Sandbox::new();
    let p = project(&sandbox);
    let out = build(&sandbox, &p, "/command");
    assert_eq!(
        std::fs::read_to_string(out.join("said")).expect("said"),
        "hi\n"
    );
}
