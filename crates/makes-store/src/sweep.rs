//! Sweeping what sessions killed with SIGKILL leave behind: staging directories in `tmp/`,
//! partial outputs and downloads in `store/` (entries without a record, temporary files),
//! temporary records in `db/`, per-path lock files, and partial blobs and records in `cache/`.
//!
//! A sweep runs only while the caller holds the store's session lock exclusively, so no live
//! session owns anything it removes: at the start of a session when no other session is
//! running and one died since the last sweep ([`LocalStore::session_lock`]), and in every
//! garbage collection. Build logs stay: a failed build's message points at its log.
//!
//! Whether a session died is told by `sessions/`: every session keeps a marker file there
//! while it lives and removes it when it ends, so a marker found by a session that holds the
//! lock exclusively is a dead session's (killed, or exited on a signal). Without such a marker
//! there is nothing to sweep, and a session start lists one empty directory instead of the
//! whole store. A store without `sessions/` (made by an earlier version) is swept once.

use std::collections::HashSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use crate::error::{io_err, Result};
use crate::fsutil::remove_tree;
use crate::local::LocalStore;
use crate::path::StorePath;

/// What a sweep removed, by file name relative to the store root.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub removed: Vec<String>,
}

/// How deep under `cache/` temporary files are looked for (`cache/layers/blobs/.tmp-blob-*`).
const CACHE_DEPTH: usize = 3;

impl LocalStore {
    fn session_lock_path(&self) -> std::path::PathBuf {
        self.root().join("gc.lock")
    }

    pub(crate) fn session_lock_file(&self) -> Result<File> {
        let path = self.session_lock_path();
        fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))
    }

    fn sessions_dir(&self) -> PathBuf {
        self.root().join("sessions")
    }

    /// Held (shared) by every session that adds to or builds in the store; released on drop.
    /// When no other session holds it and one died since the last sweep, the leftovers of dead
    /// sessions are swept first.
    pub fn session_lock(&self) -> Result<SessionGuard> {
        let file = self.session_lock_file()?;
        let path = self.session_lock_path();
        let sessions = self.sessions_dir();
        if FileExt::try_lock_exclusive(&file).map_err(io_err(&path))? && self.a_session_died() {
            // Best effort: a leftover that cannot be removed (another user's, say) must not
            // stop the session; the next sweep or `makes gc` tries again (the dead session's
            // marker stays until a sweep succeeds).
            let _ = self.sweep_while_exclusive();
        }
        // Turns the exclusive lock, if taken, into a shared one.
        FileExt::lock_shared(&file).map_err(io_err(&path))?;
        // This session's marker, before it writes anything a sweep would remove. Best effort:
        // without one, a death of this session waits for another's, or `makes gc`, to be swept.
        let marker = fs::create_dir_all(&sessions).ok().and_then(|()| {
            tempfile::Builder::new()
                .prefix("session-")
                .tempfile_in(&sessions)
                .ok()
        });
        // No path can become invalid while the lock is held: validity answers may be kept.
        self.valid_paths().enable();
        Ok(SessionGuard {
            _marker: marker,
            _lock: file,
        })
    }

    /// Whether a session ended without removing its marker, or the store predates markers.
    /// The caller holds the session lock exclusively, so no marker is a live session's.
    fn a_session_died(&self) -> bool {
        match fs::read_dir(self.sessions_dir()) {
            Ok(mut markers) => markers.next().is_some(),
            Err(_) => true,
        }
    }

    /// Removes the leftovers of dead sessions. The caller holds the session lock exclusively.
    /// Each directory is listed once: a store entry is judged by the listing of `db/`, not by
    /// questions per entry, and `.tmp*` files under `cache/` are found by the entry types the
    /// listing gives (a store of thousands of paths costs a few `getdents`, not a `stat` each).
    pub(crate) fn sweep_while_exclusive(&self) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        let root = self.root().to_path_buf();
        let remove = |entry: &Entry, report: &mut SweepReport| -> Result<()> {
            if entry.is_dir {
                remove_tree(&entry.path)?;
            } else {
                match fs::remove_file(&entry.path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(&entry.path)(e)),
                }
            }
            let shown = entry.path.strip_prefix(&root).unwrap_or(&entry.path);
            report.removed.push(shown.display().to_string());
            Ok(())
        };
        for entry in entries(&self.tmp_dir())? {
            remove(&entry, &mut report)?;
        }
        for entry in entries(&root.join("locks"))? {
            remove(&entry, &mut report)?;
        }
        let mut recorded = HashSet::new();
        for entry in entries(&root.join("db"))? {
            if entry.name.starts_with('.') {
                remove(&entry, &mut report)?;
            } else if let Some(hash) = entry.name.strip_suffix(".json") {
                recorded.insert(hash.to_owned());
            }
        }
        for entry in entries(&self.store_dir())? {
            let valid = StorePath::from_base_name(&entry.name)
                .is_ok_and(|p| recorded.contains(p.hash.as_str()));
            if !valid {
                remove(&entry, &mut report)?;
            }
        }
        let mut cache_temps = Vec::new();
        temporary_files(&root.join("cache"), CACHE_DEPTH, &mut cache_temps)?;
        for entry in cache_temps {
            remove(&entry, &mut report)?;
        }
        // Last: a sweep that failed above leaves the markers that call for the next one.
        for entry in entries(&self.sessions_dir())? {
            remove(&entry, &mut report)?;
        }
        report.removed.sort();
        Ok(report)
    }
}

/// A live session's hold on the store: the session lock (shared) and the session's marker in
/// `sessions/`. Dropping it ends the session: the marker goes, then the lock.
#[derive(Debug)]
pub struct SessionGuard {
    _marker: Option<tempfile::NamedTempFile>,
    _lock: File,
}

/// A directory entry as its listing gives it.
struct Entry {
    path: PathBuf,
    /// The name, lossily as text (store and record names are text).
    name: String,
    /// A directory (not a symlink to one), by the type the listing gives.
    is_dir: bool,
}

/// The entries of `dir`, sorted; none when it does not exist.
fn entries(dir: &Path) -> Result<Vec<Entry>> {
    let read = match fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in read {
        let entry = entry.map_err(io_err(dir))?;
        // `file_type` comes from the listing on the file systems makes runs on (no `stat`).
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.push(Entry {
            path: entry.path(),
            name: entry.file_name().to_string_lossy().into_owned(),
            is_dir,
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Files and directories named `.tmp*` under `dir`, down to `depth` levels.
fn temporary_files(dir: &Path, depth: usize, out: &mut Vec<Entry>) -> Result<()> {
    for entry in entries(dir)? {
        if entry.name.starts_with(".tmp") {
            out.push(entry);
        } else if depth > 1 && entry.is_dir {
            temporary_files(&entry.path, depth - 1, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_leftovers_and_keeps_valid_paths_logs_and_cache_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("s")).expect("open");
        let root = store.root().to_path_buf();
        let src = dir.path().join("src");
        fs::write(&src, "kept").expect("write");
        let valid = store.add_source_path(&src, "kept").expect("add");

        fs::create_dir_all(root.join("tmp/build-x/deep")).expect("mkdir");
        fs::write(root.join("tmp/build-x/deep/f"), "partial").expect("write");
        fs::write(root.join("locks/abc.lock"), "").expect("write");
        fs::write(root.join("db/.tmpXYZ"), "{").expect("write");
        let partial = root.join("store/0000000000000000000000000000000a-partial");
        fs::create_dir_all(partial.join("blobs/sha256")).expect("mkdir");
        fs::write(partial.join("blobs/sha256/.tmp-123"), "half a blob").expect("write");
        fs::write(root.join("store/.makes-image-abc"), "half an archive").expect("write");
        fs::create_dir_all(root.join("cache/layers/blobs")).expect("mkdir");
        fs::write(root.join("cache/layers/blobs/.tmp-blob-1"), "half").expect("write");
        fs::write(root.join("cache/layers/blobs/whole"), "whole").expect("write");
        fs::write(root.join("logs/failed.log"), "why it failed").expect("write");

        let lock = store.session_lock_file().expect("lock file");
        FileExt::lock_exclusive(&lock).expect("exclusive");
        let report = store.sweep_while_exclusive().expect("sweep");
        let mut expected = vec![
            "cache/layers/blobs/.tmp-blob-1".to_owned(),
            "db/.tmpXYZ".to_owned(),
            // A lock file left by a dead session (a valid path's went when it was installed).
            "locks/abc.lock".to_owned(),
            "store/.makes-image-abc".to_owned(),
            "store/0000000000000000000000000000000a-partial".to_owned(),
            "tmp/build-x".to_owned(),
        ];
        expected.sort();
        assert_eq!(report.removed, expected);
        assert!(store.is_valid(&valid) && store.real_path(&valid).exists());
        assert!(root.join("logs/failed.log").exists());
        assert!(root.join("cache/layers/blobs/whole").exists());
    }

    #[test]
    fn a_session_sweeps_only_when_it_is_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("s")).expect("open");
        let leftover = store.root().join("tmp/add-leftover");
        fs::create_dir_all(&leftover).expect("mkdir");

        let first = store.session_lock().expect("first session");
        assert!(!leftover.exists(), "the first session sweeps");
        fs::create_dir_all(&leftover).expect("mkdir");
        let second = store.session_lock().expect("second session");
        assert!(leftover.exists(), "a live session's files are left alone");
        drop((first, second));
    }

    #[test]
    fn only_a_dead_sessions_marker_calls_for_a_sweep() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("s")).expect("open");
        let sessions = store.root().join("sessions");
        let markers = || fs::read_dir(&sessions).expect("sessions").count();
        let first = store.session_lock().expect("first session");
        assert_eq!(markers(), 1, "a live session has its marker");
        drop(first);
        assert_eq!(markers(), 0, "a session that ends removes its marker");

        let leftover = store.root().join("tmp/add-leftover");
        fs::create_dir_all(&leftover).expect("mkdir");
        drop(store.session_lock().expect("second session"));
        assert!(
            leftover.exists(),
            "no session died since the last sweep: no sweep"
        );

        // What a killed session leaves: its marker.
        fs::write(sessions.join("session-killed"), "").expect("write");
        let third = store.session_lock().expect("third session");
        assert!(!leftover.exists(), "a dead session's leftovers are swept");
        assert_eq!(markers(), 1, "only the live session's marker is left");
        drop(third);
    }
}
