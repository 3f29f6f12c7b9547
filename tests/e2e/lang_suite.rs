//! NixOS/nix's language test suite, run by `scripts/lang-suite.sh` with the real binary. The
//! suite is Nix's code and is not committed: `scripts/lang-suite-extract.sh NIX_GIT_DIR TAG`
//! puts a copy in `target/lang-suite/TAG/lang` (or `MAKES_LANG_SUITE_DIR/TAG/lang`). For every
//! `tests/lang-suite/TAG/` whose copy is present, the cases makes fails must be exactly those of
//! its `known-failures.txt` (a case that starts to pass or to fail is noticed), and, where
//! `nix-instantiate` is installed, the cases Nix 2.8 fails exactly those of `nix-failures.txt`.
//! Without a copy the test is skipped with a note, even under MAKES_REQUIRE_TOOLS.

use crate::common::{have_tool, repo_root};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn suites_dir() -> PathBuf {
    std::env::var_os("MAKES_LANG_SUITE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/lang-suite"))
}

/// The case names of a list file: first word of each line, `#` comments skipped.
fn names(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| !w.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Runs the suite with makes (or with Nix) and returns the names of the failing cases.
fn failures(suite: &Path, recorded: &Path, with_nix: bool) -> (BTreeSet<String>, String) {
    let out_file = tempfile::NamedTempFile::new().expect("a temporary file");
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("scripts/lang-suite.sh"))
        .env("MAKES", env!("CARGO_BIN_EXE_makes"));
    if with_nix {
        cmd.arg("--nix");
    } else {
        cmd.arg("--nix-failures")
            .arg(recorded.join("nix-failures.txt"));
    }
    cmd.arg("--failures").arg(out_file.path()).arg(suite);
    let out = cmd.output().expect("bash runs");
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "lang-suite.sh failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (names(out_file.path()), report)
}

fn compare(what: &str, expected: &BTreeSet<String>, found: &BTreeSet<String>, report: &str) {
    let new: Vec<_> = found.difference(expected).collect();
    let fixed: Vec<_> = expected.difference(found).collect();
    assert!(
        new.is_empty() && fixed.is_empty(),
        "{what}: failing now but not listed: {new:?}; listed but passing now (remove them): \
         {fixed:?}\n{report}"
    );
}

#[test]
fn language_suite_failures_are_the_recorded_ones() {
    let recorded_root = repo_root().join("tests/lang-suite");
    let mut ran = 0;
    for entry in std::fs::read_dir(&recorded_root).expect("tests/lang-suite exists") {
        let recorded = entry.expect("an entry").path();
        let Some(tag) = recorded.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let suite = suites_dir().join(tag).join("lang");
        if !suite.is_dir() {
            eprintln!(
                "note: skipping the language suite {tag}: no copy at {} \
                 (scripts/lang-suite-extract.sh makes one from a NixOS/nix checkout)",
                suite.display()
            );
            continue;
        }
        let (found, report) = failures(&suite, &recorded, false);
        eprintln!("language suite {tag} with makes:\n{report}");
        compare(
            &format!("makes on the {tag} suite"),
            &names(&recorded.join("known-failures.txt")),
            &found,
            &report,
        );
        if have_tool("nix-instantiate") {
            let (found, report) = failures(&suite, &recorded, true);
            compare(
                &format!("Nix on the {tag} suite"),
                &names(&recorded.join("nix-failures.txt")),
                &found,
                &report,
            );
        }
        ran += 1;
    }
    if ran == 0 {
        eprintln!("note: no language suite copy: nothing compared");
    }
}
