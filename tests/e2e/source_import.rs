//! Importing a path literal whose tree changed: only what changed since the last import is read
//! and hashed again, and the store path is the one a cold import (and `nix-store --add`) gives,
//! also when a file's contents change with its size and modification time kept.

use crate::common::{have_tool, run, Sandbox};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// Store paths of the trees below, recorded with Nix 2.8's `nix-store --add` (checked again
/// against it when Nix is installed).
const FIRST: &str = "/nix/store/00crlvwf1swlvwblb8hfa8f3cwrsc4q7-src";
const LATE_CHANGE: &str = "/nix/store/0lwv3a1jy768jaym9kjm37dpw2pjxbs3-src";
const SAME_SIZE_AND_MTIME: &str = "/nix/store/9022sbqifrnqblzbcxl36zk19mljpi0y-src";

fn pattern(len: usize, step: usize) -> Vec<u8> {
    (0..len).map(|i| (i * step % 251) as u8).collect()
}

/// Over 1 MiB of NAR, so a manifest is kept; `sub/small` comes last in NAR order.
fn write_tree(src: &Path) {
    fs::create_dir_all(src.join("sub")).expect("mkdir");
    fs::write(src.join("big-1"), pattern(700_000, 3)).expect("write");
    fs::write(src.join("big-2"), pattern(700_000, 5)).expect("write");
    fs::write(src.join("sub/late"), pattern(600_000, 7)).expect("write");
    fs::write(src.join("sub/small"), "hello\n").expect("write");
    for (file, mode) in [
        ("big-1", 0o644),
        ("big-2", 0o755),
        ("sub/late", 0o644),
        ("sub/small", 0o644),
    ] {
        fs::set_permissions(src.join(file), fs::Permissions::from_mode(mode)).expect("chmod");
    }
    for dir in ["", "sub"] {
        fs::set_permissions(src.join(dir), fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    std::os::unix::fs::symlink("big-1", src.join("link")).expect("symlink");
}

/// The store path of `./src` in `dir`, as `makes eval` imports it into `sandbox`'s store.
pub(crate) fn import(sandbox: &Sandbox, dir: &Path) -> String {
    let out = run(sandbox
        .makes()
        .current_dir(dir)
        .args(["eval", "--expr", "\"${./src}\""]));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// What `makes eval` gives for the tree in a store that never saw it.
fn cold_import(dir: &Path) -> String {
    import(&Sandbox::new(), dir)
}

/// `nix-store --add`'s path of the tree, when Nix is installed and may write its store.
fn nix_path(src: &Path) -> Option<String> {
    if !crate::common::running_as_root() || !have_tool("nix-store") {
        return None;
    }
    let out = run(Command::new("nix-store").arg("--add").arg(src));
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

#[test]
fn a_changed_tree_is_imported_again_from_its_first_change_and_agrees_with_a_cold_import() {
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path().join("project");
    let src = dir.join("src");
    write_tree(&src);
    // Entries changed within a second before an import are not trusted by the next one.
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let first = import(&sandbox, &dir);
    assert_eq!(first, FIRST);
    let manifests = sandbox.store().join("cache/imports");
    assert_eq!(
        fs::read_dir(&manifests).map(Iterator::count).unwrap_or(0),
        1,
        "a tree of over 1 MiB keeps a manifest for its next import"
    );

    // One file late in the tree changes: the import resumes after the unchanged ones.
    fs::write(src.join("sub/small"), "hello, again\n").expect("write");
    std::thread::sleep(std::time::Duration::from_millis(1_200));
    let late = import(&sandbox, &dir);
    assert_eq!(late, LATE_CHANGE);
    assert_eq!(late, cold_import(&dir));

    // An early file changes with its size and modification time kept (as `touch -d` would
    // leave them): its change time still differs, so it is read again.
    let victim = src.join("big-2");
    let before = fs::metadata(&victim).expect("stat");
    let mut bytes = fs::read(&victim).expect("read");
    bytes[1_000] ^= 0xff;
    fs::write(&victim, &bytes).expect("write");
    let times = fs::FileTimes::new()
        .set_modified(before.modified().expect("mtime"))
        .set_accessed(before.accessed().expect("atime"));
    fs::File::options()
        .write(true)
        .open(&victim)
        .and_then(|f| f.set_times(times))
        .expect("set the old times");
    let after = fs::metadata(&victim).expect("stat");
    assert_eq!(
        (after.len(), after.modified().ok()),
        (before.len(), before.modified().ok())
    );
    let attacked = import(&sandbox, &dir);
    assert_eq!(attacked, SAME_SIZE_AND_MTIME);
    assert_eq!(attacked, cold_import(&dir));

    if let Some(nix) = nix_path(&src) {
        assert_eq!(nix, SAME_SIZE_AND_MTIME, "nix-store --add agrees");
    }
}

#[test]
fn the_recorded_paths_are_nix_store_adds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path().join("src");
    write_tree(&src);
    let Some(first) = nix_path(&src) else {
        eprintln!("note: skipping: needs Nix and root to add paths to /nix/store");
        return;
    };
    assert_eq!(first, FIRST);
    fs::write(src.join("sub/small"), "hello, again\n").expect("write");
    assert_eq!(nix_path(&src).as_deref(), Some(LATE_CHANGE));
}
