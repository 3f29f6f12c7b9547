//! The README as a newcomer reads it: the quick-start block (the fenced block after the
//! `<!-- quick-start` marker) runs, line after line as written, from the root of a copy of the
//! repository, with the built `makes` first on PATH (the install step is skipped).

use crate::common::{assert_success, repo_root, Sandbox};
use std::path::Path;
use std::process::Command;

/// The lines of the first ```sh block after the quick-start marker.
fn quick_start_block(readme: &str) -> String {
    let after_marker = readme
        .split_once("<!-- quick-start")
        .expect("README.md has a <!-- quick-start marker")
        .1;
    let block = after_marker
        .split_once("```sh\n")
        .expect("a ```sh block follows the marker")
        .1;
    block
        .split_once("\n```")
        .expect("the block is closed")
        .0
        .to_owned()
}

/// Copies the files git tracks (what a fresh clone holds) from `from` to `to`.
fn copy_tracked_files(from: &Path, to: &Path) {
    let listed = Command::new("git")
        .args(["-c", "safe.directory=*", "ls-files", "-z"])
        .current_dir(from)
        .output()
        .expect("git runs");
    assert_success(&listed);
    for name in listed.stdout.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = std::str::from_utf8(name).expect("tracked names are UTF-8");
        let source = from.join(name);
        // A tracked file deleted in the working tree is not part of a fresh clone either.
        let Ok(meta) = std::fs::symlink_metadata(&source) else {
            continue;
        };
        let target = to.join(name);
        std::fs::create_dir_all(target.parent().expect("a file has a parent")).expect("mkdir");
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(&source).expect("read link");
            std::os::unix::fs::symlink(link, &target).expect("symlink");
        } else if meta.is_file() {
            std::fs::copy(&source, &target).expect("copy");
        }
    }
}

#[test]
fn readme_quick_start_runs_as_written() {
    let root = repo_root();
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let block = quick_start_block(&readme);
    assert!(
        block.lines().filter(|l| l.starts_with("makes ")).count() >= 3,
        "the quick start shows makes commands: {block}"
    );
    let sandbox = Sandbox::new();
    let copy = sandbox.dir.path().join("repository");
    copy_tracked_files(&root, &copy);
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_makes"))
        .parent()
        .expect("the binary has a directory");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // The block stops at its first failing line, as a reader would notice.
    let script = format!("set -euo pipefail -x\n{block}\n");
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&copy)
        .env_clear()
        .env("PATH", path)
        .env("HOME", sandbox.dir.path())
        .env("XDG_CACHE_HOME", sandbox.cache())
        .env("MAKES_STORE_DIR", sandbox.store())
        .output()
        .expect("bash runs");
    assert_success(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/hello\n"),
        "--list printed the jobs: {stdout}"
    );
    assert!(
        stdout.contains("makes-hello.tar"),
        "the build printed the archive path: {stdout}"
    );
    assert!(
        stdout.contains("[ 2 4 6 ]"),
        "eval printed the list: {stdout}"
    );
    assert!(
        copy.join("hello-layout/index.json").is_file(),
        "--output oci:DIR wrote a layout in the copy"
    );
}
