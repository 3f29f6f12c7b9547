//! Derivations exactly as Nix 2.8 makes them: every case `tests/derivations/cases/NNN-*.nix`
//! (written by `scripts/derivations/generate.py`) is evaluated by `makes eval` (its
//! `drvPath` and the `outPath` of each output) and instantiated by `makes instantiate
//! --drv-dir` (the `.drv` bytes), and both are compared with what Nix printed and wrote,
//! recorded by `scripts/derivations/regenerate.sh` (`NNN.exp`, `NNN.drv`, or `NNN.err` for
//! the first line of Nix's error). Where `nix-instantiate` is installed the recordings are
//! also checked against it. `tests/derivations/known-differences.txt` lists cases that
//! differ, with the reason.

use crate::common::{repo_root, Sandbox};
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> PathBuf {
    repo_root().join("tests/derivations/cases")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/derivations/cases exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "nix"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 200, "only {} derivation cases", cases.len());
    cases
}

fn known_differences() -> Vec<String> {
    std::fs::read_to_string(repo_root().join("tests/derivations/known-differences.txt"))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

/// What the recording expression gives: `{ drvPath; outPaths; }`.
fn record_expr(case: &Path) -> String {
    let name = case.file_name().expect("a file name").to_string_lossy();
    format!("let d = import ./{name}; in {{ drvPath = d.drvPath; outPaths = map (x: x.outPath) d.all; }}")
}

/// The `.drv` path in a recorded `{ drvPath = "..."; ... }`.
fn recorded_drv_path(exp: &str) -> &str {
    exp.split('"').nth(1).expect("a quoted drvPath")
}

/// The differences of one case from its recording, if any.
fn check_case(sandbox: &Sandbox, case: &Path, drv_dir: &Path) -> Option<String> {
    let out = sandbox
        .makes()
        .current_dir(cases_dir())
        .args(["eval", "--strict", "--expr", &record_expr(case)])
        .output()
        .expect("makes runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if let Ok(err) = std::fs::read_to_string(case.with_extension("err")) {
        let want = err.trim();
        return (out.status.code() != Some(1) || !stderr.contains(want)).then(|| {
            format!(
                "want exit 1 and an error containing {want:?}, got {:?}: {stdout}{stderr}",
                out.status.code()
            )
        });
    }
    let exp =
        std::fs::read_to_string(case.with_extension("exp")).expect("a .exp or .err recording");
    if !out.status.success() || stdout != exp {
        return Some(format!("want {exp}got {stdout}{stderr}"));
    }
    let out = sandbox
        .makes()
        .current_dir(cases_dir())
        .arg("instantiate")
        .arg("--drv-dir")
        .arg(drv_dir)
        .arg(case)
        .output()
        .expect("makes runs");
    let drv_path = recorded_drv_path(&exp);
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != drv_path {
        return Some(format!(
            "makes instantiate printed {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let want = std::fs::read(case.with_extension("drv")).expect("a .drv recording");
    let base = drv_path.rsplit('/').next().expect("a base name");
    let got = std::fs::read(drv_dir.join(base)).unwrap_or_default();
    (got != want).then(|| {
        format!(
            ".drv differs:\n  want {}\n  got  {}",
            want.escape_ascii(),
            got.escape_ascii()
        )
    })
}

#[test]
fn derivations_match_recorded_nix() {
    let sandbox = Sandbox::new();
    let drv_dir = sandbox.cache().join("drvs");
    let known = known_differences();
    let cases = cases();
    let mut failures = Vec::new();
    let mut known_failing = 0;
    for case in &cases {
        let name = case
            .file_name()
            .expect("a name")
            .to_string_lossy()
            .into_owned();
        let failure = check_case(&sandbox, case, &drv_dir);
        match (failure, known.contains(&name)) {
            (Some(_), true) => known_failing += 1,
            (None, true) => failures.push(format!(
                "{name} now matches Nix: remove it from tests/derivations/known-differences.txt"
            )),
            (Some(f), false) => failures.push(format!("{name}: {f}")),
            (None, false) => {}
        }
    }
    eprintln!(
        "{} of {} derivation cases match Nix 2.8; {known_failing} listed as known differences",
        cases.len() - known_failing - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} case(s) differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn derivation_recordings_match_live_nix_when_installed() {
    let found = Command::new("sh")
        .args(["-c", "command -v nix-instantiate"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("note: nix-instantiate is not installed; the recordings are used as they are");
        return;
    }
    let fresh = tempfile::tempdir().expect("tempdir");
    let script = repo_root().join("scripts/derivations/regenerate.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(fresh.path())
        .output()
        .expect("regenerate.sh runs");
    assert!(
        out.status.success(),
        "regenerate.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for case in cases() {
        let stem = case
            .file_stem()
            .expect("a stem")
            .to_string_lossy()
            .into_owned();
        for ext in ["exp", "drv", "err"] {
            let recorded = std::fs::read(case.with_extension(ext)).ok();
            let live = std::fs::read(fresh.path().join(format!("{stem}.{ext}"))).ok();
            assert!(
                recorded == live,
                "{stem}.{ext}: the recording is stale (scripts/derivations/regenerate.sh)"
            );
        }
    }
}
