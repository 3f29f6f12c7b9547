//! The store paths a session knows to be valid, so that checking thousands of path literals
//! (or a closure of thousands of paths) against the store costs one listing of `db/` and
//! `store/` instead of two `stat`s per question.
//!
//! Only answers "valid" are remembered, and only while the process holds the store's session
//! lock ([`crate::LocalStore::session_lock`]): a valid path becomes invalid only by garbage
//! collection, which holds that lock exclusively, so no other process can invalidate a path
//! while a session lives (and the collector forgets what it removes from its own copy). A path
//! not known is asked of the disk every time: another process may have added it since.
//! Without the session lock every question goes to the disk, as before.
//!
//! The records of valid paths are kept the same way: a record never changes while its path is
//! valid, so one the session wrote, read, or knows whole (a source tree whose NAR hash the
//! source cache remembers has no references) is not read again; a closure of thousands of
//! paths the session has just checked costs no file reads.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::sync::Mutex;

use crate::path::{PathInfo, StorePath};

/// How many questions go to the disk before the two directories are listed once: a short
/// session (`makes --list` of a small project) in a large store never pays for the listing.
pub(crate) const QUESTIONS_BEFORE_LISTING: usize = 64;

/// What the process knows (shared by every clone of a `LocalStore`).
#[derive(Debug, Default)]
pub(crate) struct ValidPaths(Mutex<Known>);

#[derive(Debug, Default)]
struct Known {
    /// Whether positive answers may be remembered (the session lock is held).
    enabled: bool,
    /// Whether `db/` and `store/` have been listed into `valid`.
    listed: bool,
    /// Questions answered from the disk so far.
    asked: usize,
    /// How many paths were forgotten so far (a listing taken meanwhile may hold them).
    forgotten: usize,
    /// Base names (`<hash>-<name>`) of paths known valid.
    valid: HashSet<String>,
    /// The records of paths known valid, when known, by base name.
    records: HashMap<String, PathInfo>,
}

/// What [`ValidPaths::lookup`] tells the caller to do.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Lookup {
    /// Known valid.
    Valid,
    /// Not known: ask the disk (and, when valid, [`ValidPaths::remember`] it).
    AskDisk,
    /// Not known and the directories should be listed first ([`ValidPaths::fill`]).
    ListFirst,
}

impl ValidPaths {
    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        // A panic while the lock was held leaves a set that is still a subset of the valid
        // paths: keep using it.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// From now on, remember positive answers (the session lock is held).
    pub(crate) fn enable(&self) {
        self.known().enabled = true;
    }

    /// Whether `base_name` is known valid, or how to find out.
    pub(crate) fn lookup(&self, base_name: &str) -> Lookup {
        let mut known = self.known();
        if !known.enabled {
            return Lookup::AskDisk;
        }
        if known.valid.contains(base_name) {
            return Lookup::Valid;
        }
        known.asked += 1;
        if !known.listed && known.asked > QUESTIONS_BEFORE_LISTING {
            Lookup::ListFirst
        } else {
            Lookup::AskDisk
        }
    }

    /// Remembers `base_name` as valid (the caller saw its record and contents).
    pub(crate) fn remember(&self, base_name: &str) {
        let mut known = self.known();
        if known.enabled {
            known.valid.insert(base_name.to_owned());
        }
    }

    /// Remembers the path of `info` as valid, with its record (the caller wrote or read it,
    /// or knows it to be the one on disk).
    pub(crate) fn remember_record(&self, info: &PathInfo) {
        let mut known = self.known();
        if known.enabled {
            let base = info.path.base_name();
            known.valid.insert(base.clone());
            known.records.insert(base, info.clone());
        }
    }

    /// The record of `path`, if it is known valid and its record known.
    pub(crate) fn record(&self, path: &StorePath) -> Option<PathInfo> {
        self.known().records.get(&path.base_name()).cloned()
    }

    /// Forgets `base_name` (garbage collection removed it).
    pub(crate) fn forget(&self, base_name: &str) {
        let mut known = self.known();
        known.forgotten += 1;
        known.valid.remove(base_name);
        known.records.remove(base_name);
    }

    /// Remembers every path of the listings: a store entry whose hash has a record. A listing
    /// that fails leaves the set as it was (questions then go to the disk).
    ///
    /// The directories are listed without the lock held, so that other threads' questions
    /// meanwhile go to the disk rather than wait; a path forgotten meanwhile could be in the
    /// listings, which are then dropped.
    pub(crate) fn fill(&self, db_dir: &Path, store_dir: &Path) {
        let forgotten = {
            let mut known = self.known();
            if known.listed || !known.enabled {
                known.listed = true;
                return;
            }
            known.listed = true;
            known.forgotten
        };
        let (Some(records), Some(entries)) = (names(db_dir), names(store_dir)) else {
            return;
        };
        let with_record: HashSet<&str> = records
            .iter()
            .filter_map(|n| n.strip_suffix(".json"))
            .collect();
        let valid: Vec<String> = entries
            .into_iter()
            .filter(|entry| {
                entry
                    .split_once('-')
                    .is_some_and(|(hash, _)| with_record.contains(hash))
            })
            .collect();
        let mut known = self.known();
        if known.forgotten == forgotten {
            known.valid.extend(valid);
        }
    }
}

/// The names in `dir` that are text, or `None` if it cannot be read.
fn names(dir: &Path) -> Option<Vec<String>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).ok()? {
        if let Ok(name) = entry.ok()?.file_name().into_string() {
            out.push(name);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_is_remembered_without_the_session_lock() {
        let paths = ValidPaths::default();
        paths.remember("aaaa-x");
        assert_eq!(paths.lookup("aaaa-x"), Lookup::AskDisk);
        paths.enable();
        assert_eq!(paths.lookup("aaaa-x"), Lookup::AskDisk);
        paths.remember("aaaa-x");
        assert_eq!(paths.lookup("aaaa-x"), Lookup::Valid);
        paths.forget("aaaa-x");
        assert_eq!(paths.lookup("aaaa-x"), Lookup::AskDisk);
    }

    #[test]
    fn records_are_kept_only_with_the_session_lock_and_forgotten_with_their_path() {
        let path = crate::path::make_store_path("source", &[3u8; 32], "x");
        let info = PathInfo {
            path: path.clone(),
            references: Vec::new(),
            nar_size: 8,
            nar_hash: "sha256:0".to_owned(),
        };
        let paths = ValidPaths::default();
        paths.remember_record(&info);
        assert_eq!(paths.record(&path), None);
        paths.enable();
        paths.remember_record(&info);
        assert_eq!(paths.record(&path), Some(info));
        assert_eq!(paths.lookup(&path.base_name()), Lookup::Valid);
        paths.forget(&path.base_name());
        assert_eq!(paths.record(&path), None);
        assert_eq!(paths.lookup(&path.base_name()), Lookup::AskDisk);
    }

    #[test]
    fn the_listing_comes_after_enough_questions_and_needs_a_record() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (db, store) = (dir.path().join("db"), dir.path().join("store"));
        fs::create_dir_all(&db).expect("mkdir");
        fs::create_dir_all(&store).expect("mkdir");
        fs::write(db.join("aaaa.json"), "{}").expect("write");
        fs::write(db.join(".tmp-bbbb"), "{").expect("write");
        fs::write(store.join("aaaa-recorded"), "").expect("write");
        fs::write(store.join("bbbb-half-written"), "").expect("write");
        fs::write(db.join("cccc.json"), "{}").expect("write");

        let paths = ValidPaths::default();
        paths.enable();
        for _ in 0..QUESTIONS_BEFORE_LISTING {
            assert_eq!(paths.lookup("zzzz-other"), Lookup::AskDisk);
        }
        assert_eq!(paths.lookup("zzzz-other"), Lookup::ListFirst);
        paths.fill(&db, &store);
        assert_eq!(paths.lookup("aaaa-recorded"), Lookup::Valid);
        assert_eq!(paths.lookup("bbbb-half-written"), Lookup::AskDisk);
        assert_eq!(paths.lookup("cccc-no-contents"), Lookup::AskDisk);
        assert_eq!(paths.lookup("zzzz-other"), Lookup::AskDisk, "listed once");
    }
}
