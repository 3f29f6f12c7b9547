//! Store paths an evaluation prints are where they say they are: `makes exec` runs a host
//! command with makes' store at `/nix/store`, so a script reads `makes eval`'s results as it
//! reads `nix-instantiate --eval`'s with Nix's store (nixpkgs' `lib.fileset` tests do). Also
//! what those paths hold, as Nix 2.8 computes them (recorded here, checked live when
//! `nix-instantiate` is installed): `builtins.path`'s filter asked in Nix's order, and
//! `recursive = false` adding the file alone.

use crate::common::{run, Sandbox};
use std::path::Path;
use std::process::{Command, Output};

fn nix_installed() -> bool {
    Command::new("sh")
        .args(["-c", "command -v nix-instantiate"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `nix-instantiate --eval --strict --expr EXPR` in `dir` without a store of its own.
fn nix_eval(dir: &Path, expr: &str) -> Output {
    Command::new("nix-instantiate")
        .current_dir(dir)
        .env("NIX_REMOTE", "dummy://")
        .env("USER", "root")
        .args(["--eval", "--strict", "--expr", expr])
        .output()
        .expect("nix-instantiate runs")
}

/// The `trace:` lines of a run's stderr (Nix may add warnings about its own setup).
fn traces(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.starts_with("trace: "))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A tree of directories and empty files, relative to `dir`.
fn tree(dir: &Path, dirs: &[&str], files: &[&str]) {
    for d in dirs {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    for f in files {
        std::fs::write(dir.join(f), "").expect("touch");
    }
}

#[test]
fn exec_shows_the_store_paths_an_evaluation_prints() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("project");
    tree(&dir, &["src/sub"], &["src/sub/b", "src/left-out"]);
    std::fs::write(dir.join("src/a"), "A\n").expect("a");
    let out = run(sandbox.makes().current_dir(&dir).args([
        "eval",
        "--raw",
        "--expr",
        "builtins.path { path = ./src; filter = p: t: baseNameOf p != \"left-out\"; }",
    ]));
    let path = String::from_utf8(out.stdout).expect("text");
    assert!(path.starts_with("/nix/store/"), "{path}");
    let script = format!(
        "test -f {path}/sub/b && ! test -e {path}/left-out && ! test -w {path}/a && cat {path}/a"
    );
    let seen = run(sandbox
        .makes()
        .current_dir(&dir)
        .args(["exec", "sh", "-c", &script]));
    assert_eq!(String::from_utf8_lossy(&seen.stdout), "A\n");
    // The command runs where makes was started, with the caller's files.
    let pwd = run(sandbox.makes().current_dir(&dir).args(["exec", "pwd"]));
    assert_eq!(
        String::from_utf8_lossy(&pwd.stdout).trim_end(),
        dir.display().to_string()
    );
}

#[test]
fn exec_exits_as_its_command() {
    let sandbox = Sandbox::new();
    let status = sandbox
        .makes()
        .args(["exec", "sh", "-c", "exit 3"])
        .status()
        .expect("makes runs");
    assert_eq!(status.code(), Some(3));
    let missing = sandbox
        .makes()
        .args(["exec", "no-such-command-anywhere"])
        .output()
        .expect("makes runs");
    assert_eq!(missing.status.code(), Some(127));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no-such-command-anywhere"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // Without a command: a usage error, nothing run.
    let none = sandbox.makes().arg("exec").output().expect("makes runs");
    assert_eq!(none.status.code(), Some(2));
}

/// Nix asks the filter depth first, a directory's contents right after it, names sorted.
#[test]
fn the_filter_is_asked_in_nix_order() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("order");
    tree(&dir, &["t/a", "t/e"], &["t/a/c", "t/a/b", "t/d"]);
    let expr = "builtins.path { path = ./t; name = \"t\"; \
                filter = p: t: builtins.trace \"${baseNameOf p} ${t}\" true; }";
    // What Nix 2.8 printed.
    let want_out = "\"/nix/store/dc95cpzwg9mz8dm490y0f6sa380xxnz1-t\"\n";
    let want_trace = "trace: a directory\ntrace: b regular\ntrace: c regular\n\
                      trace: d regular\ntrace: e directory\n";
    let out = run(sandbox
        .makes()
        .current_dir(&dir)
        .args(["eval", "--strict", "--expr", expr]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), want_out);
    assert_eq!(traces(&out), want_trace);
    if nix_installed() {
        let live = nix_eval(&dir, expr);
        assert_eq!(String::from_utf8_lossy(&live.stdout), want_out);
        assert_eq!(traces(&live), want_trace);
    }
}

#[test]
fn a_flat_path_is_the_file_alone() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("flat");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("f"), "hello\n").expect("f");
    let mut perms = std::fs::metadata(dir.join("f")).expect("f").permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(dir.join("f"), perms).expect("chmod");
    let expr = "[ (builtins.path { path = ./f; recursive = false; }) \
                (builtins.path { path = ./f; recursive = false; name = \"g\"; \
                sha256 = builtins.hashFile \"sha256\" ./f; }) ]";
    // What Nix 2.8 printed.
    let want = "[ \"/nix/store/1p9q0bz6f22dyxh4lw8xs08p4201vyq4-f\" \
                \"/nix/store/6iyijlzf4xf4np6s0pwn4z6lngif8zwv-g\" ]\n";
    let out = run(sandbox
        .makes()
        .current_dir(&dir)
        .args(["eval", "--strict", "--expr", expr]));
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    if nix_installed() {
        assert_eq!(String::from_utf8_lossy(&nix_eval(&dir, expr).stdout), want);
    }
    // The file, its bytes, and no executable bit (a flat file has none).
    let seen = run(sandbox.makes().current_dir(&dir).args([
        "exec",
        "sh",
        "-c",
        "f=/nix/store/1p9q0bz6f22dyxh4lw8xs08p4201vyq4-f; test -f $f && ! test -x $f && cat $f",
    ]));
    assert_eq!(String::from_utf8_lossy(&seen.stdout), "hello\n");
    // A wrong hash and a directory are errors, not other paths.
    for bad in [
        "builtins.path { path = ./f; recursive = false; sha256 = \"0000000000000000000000000000000000000000000000000000\"; }",
        "builtins.path { path = ./.; recursive = false; }",
    ] {
        let out = sandbox
            .makes()
            .current_dir(&dir)
            .args(["eval", "--expr", bad])
            .output()
            .expect("makes runs");
        assert_eq!(out.status.code(), Some(1), "{bad}");
    }
}

#[test]
fn raw_prints_a_string_as_its_bytes() {
    let sandbox = Sandbox::new();
    let out = run(sandbox
        .makes()
        .args(["eval", "--raw", "--expr", "\"a\\n${toString 1}\""]));
    assert_eq!(out.stdout, b"a\n1");
    // As `nix eval --raw`: what interpolation refuses is refused.
    let out = sandbox
        .makes()
        .args(["eval", "--raw", "--expr", "1"])
        .output()
        .expect("makes runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}
