//! `makes eval --strict` against the real Nix evaluator: every case `tests/eval/cases/NAME.nix`
//! or `tests/eval/cases/THEME/NAME.nix` has the output `nix-instantiate --eval --strict` printed
//! for it recorded in `NAME.exp`, or the first line of its error in `NAME.err`
//! (`tests/eval/regenerate.sh` rewrites them); deeper files are helpers the cases read. Where
//! `nix-instantiate` is installed, the recordings themselves are checked against it too, except
//! in `current-nix/`, where makes follows current Nix rather than 2.8 and the recordings are
//! written by hand (see `current-nix/README.md`).

use crate::common::{repo_root, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;

fn nix_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .expect("a cases directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "nix"))
        .collect()
}

/// Top-level cases and one folder of cases per theme.
fn cases() -> Vec<PathBuf> {
    let dir = repo_root().join("tests/eval/cases");
    let mut cases = nix_files(&dir);
    for entry in std::fs::read_dir(&dir).expect("tests/eval/cases exists") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            cases.extend(nix_files(&path));
        }
    }
    cases.sort();
    assert!(
        cases.len() >= 400,
        "only {} evaluation cases found",
        cases.len()
    );
    cases
}

/// `tests/eval/known-differences.txt`: cases expected to differ from Nix, by path relative to
/// the cases directory.
fn known_differences() -> Vec<String> {
    let path = repo_root().join("tests/eval/known-differences.txt");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn relative_name(case: &Path) -> String {
    let dir = repo_root().join("tests/eval/cases");
    case.strip_prefix(&dir)
        .unwrap_or(case)
        .display()
        .to_string()
}

fn follows_current_nix(case: &Path) -> bool {
    case.parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == "current-nix")
}

enum Expected {
    /// Bytes: Nix prints a string as its exact bytes, which need not be UTF-8.
    Output(Vec<u8>),
    Error(String),
}

fn expected(case: &Path) -> Expected {
    let exp = case.with_extension("exp");
    let err = case.with_extension("err");
    // Recordings name the cases directory as @CASES@, wherever the checkout is.
    let dir = case.parent().expect("a parent").display().to_string();
    if let Ok(bytes) = std::fs::read(&exp) {
        Expected::Output(replace_bytes(&bytes, b"@CASES@", dir.as_bytes()))
    } else if let Ok(text) = std::fs::read_to_string(&err) {
        Expected::Error(text.trim().replace("@CASES@", &dir))
    } else {
        panic!("{} has neither a .exp nor a .err recording", case.display());
    }
}

fn replace_bytes(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Bytes shown with non-UTF-8 and control bytes escaped, for a failure message.
fn shown(bytes: &[u8]) -> String {
    bytes.escape_ascii().to_string()
}

#[test]
fn makes_eval_matches_recorded_nix_output() {
    let sandbox = Sandbox::new();
    let mut failures = Vec::new();
    let known = known_differences();
    let mut known_failing = 0;
    let cases = cases();
    for case in &cases {
        let before = failures.len();
        let out = sandbox
            .makes()
            .current_dir(case.parent().expect("a parent"))
            .args(["eval", "--strict"])
            .arg(case)
            .output()
            .expect("makes runs");
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match expected(case) {
            Expected::Output(want) => {
                if !out.status.success() || out.stdout != want {
                    failures.push(format!(
                        "{}:\n  want: {}\n  got:  {}\n  stderr: {stderr}",
                        case.display(),
                        shown(&want),
                        shown(&out.stdout)
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
        let failed = failures.len() > before;
        if known.contains(&relative_name(case)) {
            if failed {
                failures.truncate(before);
                known_failing += 1;
            } else {
                failures.push(format!(
                    "{} now matches Nix: remove it from tests/eval/known-differences.txt",
                    case.display()
                ));
            }
        }
    }
    eprintln!(
        "{} of {} cases match Nix; {} listed in known-differences.txt",
        cases.len() - known_failing - failures.len(),
        cases.len(),
        known_failing
    );
    assert!(
        failures.is_empty(),
        "{} of {} case(s) differ from Nix:\n{}",
        failures.len(),
        cases.len(),
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
    for case in cases().into_iter().filter(|c| !follows_current_nix(c)) {
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
                assert!(
                    out.stdout == want,
                    "{} recording is stale: nix prints {}",
                    case.display(),
                    shown(&out.stdout)
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
