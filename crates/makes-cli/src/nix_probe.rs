//! Whether Nix is installed, without running it on every start: `nix-instantiate --version`
//! costs tens of milliseconds, more than a whole `makes --list`. The answer is kept in the
//! cache directory under the identity of the `nix-instantiate` that `PATH` finds (its resolved
//! path, size, mtime and inode), so installing, upgrading or switching Nix asks again.

use makes_store::packages::nix_available;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const PROGRAM: &str = "nix-instantiate";

/// Whether `nix-instantiate --version` succeeds, from the cache when this same binary was
/// asked before.
pub fn nix_installed() -> bool {
    let Some(program) = find_on_path(PROGRAM, std::env::var_os("PATH").as_deref()) else {
        // Not on PATH: running it could only fail.
        return false;
    };
    let Some(identity) = identity(&program) else {
        return nix_available();
    };
    let record = crate::locations::cache_dir()
        .ok()
        .map(|d| d.join("nix-probe"));
    if let Some(answer) = record.as_deref().and_then(|r| cached(r, &identity)) {
        return answer;
    }
    let answer = nix_available();
    if let Some(record) = record {
        remember(&record, &identity, answer);
    }
    answer
}

/// The first executable regular file named `name` in the `PATH` list `path`.
fn find_on_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0)
        })
}

/// What names one installed binary: the path PATH gives, where its symlinks lead, and the
/// metadata of the file there.
fn identity(program: &Path) -> Option<String> {
    let real = std::fs::canonicalize(program).ok()?;
    let meta = std::fs::metadata(&real).ok()?;
    Some(format!(
        "{}\0{}\0{}\0{}\0{}\0{}",
        program.display(),
        real.display(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ino()
    ))
}

/// The remembered answer for `identity`, if the record is about it.
fn cached(record: &Path, identity: &str) -> Option<bool> {
    let text = std::fs::read_to_string(record).ok()?;
    let (who, answer) = text.rsplit_once('\n')?;
    if who != identity {
        return None;
    }
    match answer {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    }
}

/// Writes the record by temporary file and rename; a record that cannot be written only costs
/// a probe next time.
fn remember(record: &Path, identity: &str, answer: bool) {
    let Some(dir) = record.parent() else {
        return;
    };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    let Ok(tmp) = tempfile::Builder::new()
        .prefix(".nix-probe-")
        .tempfile_in(dir)
    else {
        return;
    };
    let text = format!("{identity}\n{}", if answer { "yes" } else { "no" });
    if std::fs::write(tmp.path(), text).is_ok() {
        let _ = tmp.persist(record);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn finds_only_executable_files_in_path_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::create_dir_all(a.join("tool")).expect("a directory named like the program");
        std::fs::create_dir(&b).expect("mkdir");
        let plain = b.join("tool");
        std::fs::write(&plain, "x").expect("write");
        let path = std::env::join_paths([&a, &b]).expect("join");
        assert_eq!(find_on_path("tool", Some(&path)), None, "not executable");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(find_on_path("tool", Some(&path)), Some(plain));
        assert_eq!(find_on_path("tool", None), None);
    }

    #[test]
    fn a_record_answers_only_for_the_same_binary() {
        let dir = tempfile::tempdir().expect("tempdir");
        let program = dir.path().join("tool");
        std::fs::write(&program, "v1").expect("write");
        let record = dir.path().join("cache").join("nix-probe");
        let before = identity(&program).expect("identity");
        assert_eq!(cached(&record, &before), None);
        remember(&record, &before, true);
        assert_eq!(cached(&record, &before), Some(true));
        remember(&record, &before, false);
        assert_eq!(cached(&record, &before), Some(false));
        // Another binary (an upgrade changes size, mtime or inode) is asked again.
        std::fs::write(&program, "version 2").expect("rewrite");
        let after = identity(&program).expect("identity");
        assert_ne!(before, after);
        assert_eq!(cached(&record, &after), None);
    }
}
