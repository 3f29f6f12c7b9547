//! `makes eval --strict` against the real Nix evaluator: every `tests/eval/cases/NAME.nix`
//! has the output `nix-instantiate --eval --strict` printed for it recorded in `NAME.exp`, or
//! the first line of its error in `NAME.err` (`tests/eval/regenerate.sh` rewrites them). Where
//! `nix-instantiate` is installed, the recordings themselves are checked against it too.

use crate::common::{repo_root, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/eval/cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/eval/cases exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nix"))
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no evaluation cases found");
    cases
}

enum Expected {
    Output(String),
    Error(String),
}

fn expected(case: &Path) -> Expected {
    let exp = case.with_extension("exp");
    let err = case.with_extension("err");
    // Recordings name the cases directory as @CASES@, wherever the checkout is.
    let dir = case.parent().expect("a parent").display().to_string();
    if let Ok(text) = std::fs::read_to_string(&exp) {
        Expected::Output(text.replace("@CASES@", &dir))
    } else if let Ok(text) = std::fs::read_to_string(&err) {
        Expected::Error(text.trim().replace("@CASES@", &dir))
    } else {
        panic!("{} has neither a .exp nor a .err recording", case.display());
    }
}

#[test]
fn makes_eval_matches_recorded_nix_output() {
    let sandbox = Sandbox::new();
    let mut failures = Vec::new();
    for case in cases() {
        let out = sandbox
            .makes()
            .current_dir(case.parent().expect("a parent"))
            .args(["eval", "--strict"])
            .arg(&case)
            .output()
            .expect("makes runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match expected(&case) {
            Expected::Output(want) => {
                if !out.status.success() || stdout != want {
                    failures.push(format!(
                        "{}:\n  want: {want:?}\n  got:  {stdout:?}\n  stderr: {stderr}",
                        case.display()
                    ));
                }
            }
            Expected::Error(want) => {
                if out.status.code() != Some(1) || !stderr.contains(&want) {
                    failures.push(format!(
                        "{}:\n  want exit 1 and an error containing {want:?}\n  got {:?}: {stderr}",
                        case.display(),
                        out.status.code()
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from Nix:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn recordings_match_live_nix_when_installed() {
    let found = Command::new("sh")
        .args(["-c", "command -v nix-instantiate"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: nix-instantiate is not installed; the recordings are used as they are");
        return;
    }
    for case in cases() {
        let out = Command::new("nix-instantiate")
            .current_dir(case.parent().expect("a parent"))
            .env("NIX_REMOTE", "dummy://")
            .args(["--eval", "--strict"])
            .arg(&case)
            .output()
            .expect("nix-instantiate runs");
        match expected(&case) {
            Expected::Output(want) => {
                assert!(
                    out.status.success(),
                    "{}: nix failed: {}",
                    case.display(),
                    String::from_utf8_lossy(&out.stderr)
                );
                assert_eq!(
                    String::from_utf8_lossy(&out.stdout),
                    want,
                    "{} recording is stale",
                    case.display()
                );
            }
            Expected::Error(want) => {
                assert!(
                    !out.status.success(),
                    "{}: nix succeeded where an error is recorded",
                    case.display()
                );
                assert!(
                    String::from_utf8_lossy(&out.stderr).contains(&want),
                    "{}: nix's error does not contain {want:?}",
                    case.display()
                );
            }
        }
    }
}
