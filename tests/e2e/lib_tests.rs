//! nixpkgs' pure lib tests, run by `scripts/lib-tests.sh` with the real binary. nixpkgs' lib
//! is not committed: `scripts/lib-tests-extract.sh NIXPKGS_LIB_GIT_DIR REV` puts a copy in
//! `target/lib-tests/REV` (or `MAKES_LIB_TESTS_DIR/REV`). For every `tests/lib-tests/REV.txt`
//! whose copy is present, the runner's result lines (`PASS file: N Pass` or `FAIL file: why`)
//! must be exactly the recorded ones, so that a test file that starts to pass or to fail is
//! noticed. Without a copy the test is skipped with a note, even under MAKES_REQUIRE_TOOLS.

use crate::common::repo_root;
use std::path::PathBuf;
use std::process::Command;

fn copies_dir() -> PathBuf {
    std::env::var_os("MAKES_LIB_TESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/lib-tests"))
}

#[test]
fn lib_test_results_are_the_recorded_ones() {
    let recorded_root = repo_root().join("tests/lib-tests");
    for entry in std::fs::read_dir(&recorded_root).expect("tests/lib-tests exists") {
        let recorded = entry.expect("an entry").path();
        if recorded.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let Some(rev) = recorded.file_stem().and_then(|n| n.to_str()) else {
            continue;
        };
        let copy = copies_dir().join(rev);
        if !copy.join("lib").is_dir() {
            eprintln!(
                "note: skipping nixpkgs' lib tests of {rev}: no copy at {} \
                 (scripts/lib-tests-extract.sh makes one from a nixpkgs.lib checkout)",
                copy.display()
            );
            continue;
        }
        let results = tempfile::NamedTempFile::new().expect("a temporary file");
        let out = Command::new("bash")
            .arg(repo_root().join("scripts/lib-tests.sh"))
            .env("MAKES", env!("CARGO_BIN_EXE_makes"))
            .arg("--results")
            .arg(results.path())
            .arg(&copy)
            .output()
            .expect("bash runs");
        let report = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "lib-tests.sh failed:\n{report}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let found = std::fs::read_to_string(results.path()).expect("the results");
        let expected = std::fs::read_to_string(&recorded).expect("the recorded results");
        assert_eq!(
            found,
            expected,
            "the lib tests of {rev} (logs beside {}); if the change is right, record it in {}",
            copy.display(),
            recorded.display()
        );
    }
}
