//! The project's files as makes sees them: in a git checkout, what git tracks (HEAD with the
//! staged and modified tracked files as they are on disk); untracked and ignored files are
//! not there for path literals, `projectPath`, `readFile`, `readDir` or legacy jobs. A clean
//! checkout gives the store paths a plain copy of its files gives.

use crate::common::{assert_success, have_tool, run, write_project, Sandbox};
use std::path::Path;
use std::process::Command;

const PROJECT: &str = r#"{ makeDerivation, projectPath, ... }: {
  jobs."/d" = makeDerivation {
    name = "d";
    env.envSrc = ./src;
    env.envProject = projectPath "/src";
    env.envTracked = builtins.readFile ./src/tracked.txt;
    env.envStaged = if builtins.pathExists ./staged.txt then builtins.readFile ./staged.txt else "absent";
    env.envUntracked = if builtins.pathExists ./src/untracked.txt then "seen" else "unseen";
    env.envListing = builtins.concatStringsSep "," (builtins.attrNames (builtins.readDir ./src));
    builder = "touch $out";
  };
  jobs."/bad" = makeDerivation {
    name = "bad";
    env.envX = builtins.readFile ./src/untracked.txt;
    builder = "touch $out";
  };
}"#;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .output()
        .expect("git runs");
    assert_success(&out);
}

/// The env of `/d` as `makes show` prints it.
fn shown_env(sandbox: &Sandbox, project: &Path) -> serde_json::Value {
    let out = run(sandbox
        .makes()
        .arg("--project")
        .arg(project)
        .args(["show", "/d"]));
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    spec["env"].clone()
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// A committed checkout at `<sandbox>/git/proj` with `src/tracked.txt`, a `.gitignore` for
/// `src/ignored.txt`, and a legacy job `/legacy`.
fn checkout(sandbox: &Sandbox) -> std::path::PathBuf {
    let project = sandbox.dir.path().join("git/proj");
    write_project(&project, PROJECT);
    write(&project.join("src/tracked.txt"), "v1");
    write(&project.join(".gitignore"), "src/ignored.txt\n");
    write(&project.join("makes/legacy/main.nix"), "{ ... }: { }");
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);
    git(&project, &["commit", "-qm", "one"]);
    project
}

#[test]
fn untracked_and_ignored_files_are_not_part_of_the_project() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = checkout(&sandbox);
    let clean = shown_env(&sandbox, &project);
    assert_eq!(clean["envListing"], "tracked.txt");
    assert_eq!(clean["envStaged"], "absent");

    // A plain directory with the same files gives the same store paths.
    let plain = sandbox.dir.path().join("plain/proj");
    write_project(&plain, PROJECT);
    write(&plain.join("src/tracked.txt"), "v1");
    let copy = shown_env(&sandbox, &plain);
    assert_eq!(copy["envSrc"], clean["envSrc"]);
    assert_eq!(copy["envProject"], clean["envProject"]);

    write(&project.join("src/ignored.txt"), "ignored");
    write(&project.join("src/untracked.txt"), "untracked");
    write(&project.join("makes/other/main.nix"), "{ ... }: { }");
    let dirty = shown_env(&sandbox, &project);
    assert_eq!(dirty["envSrc"], clean["envSrc"]);
    assert_eq!(dirty["envProject"], clean["envProject"]);
    assert_eq!(dirty["envListing"], "tracked.txt");
    assert_eq!(dirty["envUntracked"], "unseen");
    // In plain directories they are seen.
    write(&plain.join("src/untracked.txt"), "untracked");
    assert_eq!(shown_env(&sandbox, &plain)["envUntracked"], "seen");

    // Reading one is an error naming it.
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/bad"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("src/untracked.txt") && stderr.contains("not part of the project"),
        "{stderr}"
    );
    // Nor through a tracked symlink.
    std::os::unix::fs::symlink("untracked.txt", project.join("src/link.txt")).expect("symlink");
    git(&project, &["add", "src/link.txt"]);
    std::fs::write(
        project.join("makes.nix"),
        PROJECT.replace("./src/untracked.txt;", "./src/link.txt;"),
    )
    .expect("write");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/bad"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not part of the project"));
    std::fs::write(project.join("makes.nix"), PROJECT).expect("write");
    // An untracked legacy job is not a job.
    let out = run(sandbox.makes().arg("--project").arg(&project).arg("--list"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/bad\n/d\n/legacy\n");
}

#[test]
fn modified_and_staged_files_are_seen_as_they_are_on_disk() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = checkout(&sandbox);
    let clean = shown_env(&sandbox, &project);
    write(&project.join("src/tracked.txt"), "v2");
    write(&project.join("staged.txt"), "staged");
    git(&project, &["add", "staged.txt"]);
    let changed = shown_env(&sandbox, &project);
    assert_eq!(changed["envTracked"], "v2");
    assert_eq!(changed["envStaged"], "staged");
    assert_ne!(changed["envSrc"], clean["envSrc"]);
    // A tracked file deleted on disk is gone.
    std::fs::remove_file(project.join("src/tracked.txt")).expect("rm");
    write(&project.join("src/other.txt"), "x");
    git(&project, &["add", "src/other.txt"]);
    let out = run(sandbox.makes().arg("--project").arg(&project).arg("--list"));
    assert_success(&out);
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .args(["show", "/d"])
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "readFile of a deleted file fails"
    );
}

#[test]
fn an_untracked_makes_nix_is_named() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = sandbox.dir.path().join("new");
    write_project(&project, PROJECT);
    git(&project, &["init", "-q"]);
    let out = sandbox
        .makes()
        .current_dir(&project)
        .args([".", "/d"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("makes.nix is not tracked by git"),
        "{stderr}"
    );
}

#[test]
fn a_checkout_of_another_user_is_read_as_git_tracks_it() {
    if !have_tool("git") || !crate::common::running_as_root() {
        return;
    }
    let sandbox = Sandbox::new();
    let project = checkout(&sandbox);
    write(&project.join("src/untracked.txt"), "untracked");
    // Owned by another user (as a checkout mounted into a container): git reads it for
    // makes all the same, and untracked files stay out.
    let chown = Command::new("chown")
        .args(["-R", "65534:65534"])
        .arg(&project)
        .output()
        .expect("chown runs");
    assert_success(&chown);
    assert_eq!(shown_env(&sandbox, &project)["envUntracked"], "unseen");
}

#[test]
fn a_broken_checkout_is_an_error_not_a_plain_directory() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = checkout(&sandbox);
    // git knows it for a checkout, but cannot read what it tracks.
    std::fs::write(project.join(".git/index"), "garbage").expect("write");
    let out = sandbox
        .makes()
        .arg("--project")
        .arg(&project)
        .arg("--list")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("git cannot list the files of the project"),
        "{stderr}"
    );
}

/// A path the project names but nobody wrote (a documented example's `/users/schema.json`, a
/// module whose paths are relative to another root) is missing, not "untracked": the error
/// says so and names it, in a checkout as outside one.
#[test]
fn a_file_that_does_not_exist_is_missing_not_untracked() {
    if !have_tool("git") {
        return;
    }
    let sandbox = Sandbox::new();
    let project = checkout(&sandbox);
    let makes_nix = r#"{ makeDerivation, projectPath, ... }: {
  jobs."/read" = makeDerivation {
    name = "read";
    env.envX = builtins.readFile ./src/nowhere.txt;
    builder = "touch $out";
  };
  jobs."/path" = makeDerivation {
    name = "path";
    env.envX = projectPath "/schemas/nowhere.json";
    builder = "touch $out";
  };
}"#;
    std::fs::write(project.join("makes.nix"), makes_nix).expect("write");
    git(&project, &["commit", "-qam", "two"]);
    for (job, path) in [
        ("/read", "src/nowhere.txt"),
        ("/path", "schemas/nowhere.json"),
    ] {
        let out = sandbox
            .makes()
            .arg("--project")
            .arg(&project)
            .args(["show", job])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{job}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(path) && stderr.contains("No such file or directory"),
            "{job}: {stderr}"
        );
        assert!(!stderr.contains("git does not track"), "{job}: {stderr}");
    }
}
