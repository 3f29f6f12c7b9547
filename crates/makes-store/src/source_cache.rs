//! A cache of the NAR hashes of source trees (path literals, `builtins.path`), keyed by a
//! fingerprint of the tree's metadata, so that an unchanged tree is not read and hashed again
//! on every evaluation (the largest part of a warm rebuild of an image with big sources).
//!
//! The fingerprint covers, for every entry the filter keeps: its relative path, type, size,
//! mode, inode, modification and change times (nanoseconds); for a directory only its type
//! (its NAR is its children's, which are entries of their own). Writing a file updates its
//! change time, which no user can set, so a changed tree gets a new fingerprint, as git's index
//! relies on too. A hit is still only used when the store path it names is valid.

#[cfg(test)]
use crate::error::Result;
use crate::local::LocalStore;
use crate::path::hex;
use crate::source_tree::TreeEntry;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The version of the fingerprint; change it when what it covers changes (v2: directories by
/// their type alone).
const TAG: &[u8] = b"makes-source-fingerprint-v2\0";

/// The fingerprint of the tree at `root` whose entries (as `source_tree::walk_tree` lists
/// them) are `entries`.
pub(crate) fn fingerprint_of(root: &Path, entries: &[TreeEntry]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(TAG);
    hasher.update(root.as_os_str().as_bytes());
    for entry in entries {
        hasher.update((entry.rel.len() as u64).to_le_bytes());
        hasher.update(&entry.rel);
        for n in entry.meta.words() {
            hasher.update(n.to_le_bytes());
        }
    }
    hasher.finalize().into()
}

/// The fingerprint of the tree at `root` as `keep` filters it.
#[cfg(test)]
pub(crate) fn tree_fingerprint(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<[u8; 32]> {
    Ok(fingerprint_of(
        root,
        &crate::source_tree::walk_tree(root, keep)?,
    ))
}

/// The remembered NAR hashes of source trees, read from one file once per process: an image
/// of thousands of path literals asks thousands of times, and one read beats a file each.
///
/// The file, `cache/sources.log`, holds one line per tree, `<fingerprint> <NAR hash> <size>`
/// (hex, hex, decimal), appended with one `write` each (`O_APPEND`), so that sessions running
/// at once never tear each other's lines; a line that does not parse (a crash mid-write) is
/// skipped. It starts afresh when it passes [`MAX_LOG_BYTES`]: the cost is one re-hash of each
/// tree.
#[derive(Debug, Default)]
pub(crate) struct SourceHashes(Mutex<Option<KnownHashes>>);

/// NAR hash and size by fingerprint.
type KnownHashes = HashMap<[u8; 32], NarOfTree>;

/// A tree's NAR hash and size.
type NarOfTree = ([u8; 32], u64);

/// How large the log may grow before it starts afresh (about 100,000 trees).
const MAX_LOG_BYTES: u64 = 16 << 20;

impl SourceHashes {
    /// Whether the log is read (tests).
    #[cfg(test)]
    pub(crate) fn is_loaded(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    fn loaded(&self, log: &Path) -> std::sync::MutexGuard<'_, Option<KnownHashes>> {
        // A panic elsewhere while the lock was held leaves a map of whole entries: keep it.
        let mut guard = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            *guard = Some(read_log(log));
        }
        guard
    }
}

fn read_log(log: &Path) -> KnownHashes {
    let mut known = HashMap::new();
    if fs::metadata(log).is_ok_and(|m| m.len() > MAX_LOG_BYTES) {
        let _ = fs::remove_file(log);
        return known;
    }
    let Ok(text) = fs::read(log) else {
        return known;
    };
    for range in crate::dir_listings::line_ranges(&text) {
        if let Some((fingerprint, entry)) = parse_line(&text[range]) {
            known.insert(fingerprint, entry);
        }
    }
    known
}

fn parse_line(line: &[u8]) -> Option<([u8; 32], NarOfTree)> {
    let line = std::str::from_utf8(line).ok()?;
    let mut fields = line.split(' ');
    let fingerprint = parse_hex32(fields.next()?)?;
    let hash = parse_hex32(fields.next()?)?;
    let size = fields.next()?.parse().ok()?;
    fields
        .next()
        .is_none()
        .then_some((fingerprint, (hash, size)))
}

fn parse_hex32(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 {
        return None;
    }
    // A digit at a time (not `from_str_radix` of each pair): the log holds a line per tree
    // and is read whole on every evaluation.
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

impl LocalStore {
    fn source_log(&self) -> PathBuf {
        self.root().join("cache").join("sources.log")
    }

    /// Reads the remembered NAR hashes now, unless they were.
    pub(crate) fn load_source_hashes(&self) {
        drop(self.source_hashes().loaded(&self.source_log()));
    }

    /// The NAR hash and size remembered for a fingerprint.
    pub(crate) fn cached_source_hash(&self, fingerprint: &[u8; 32]) -> Option<([u8; 32], u64)> {
        let log = self.source_log();
        let known = self.source_hashes().loaded(&log);
        if let Some(found) = known.as_ref().and_then(|map| map.get(fingerprint)) {
            return Some(*found);
        }
        drop(known);
        // Stores written by earlier versions kept one file per fingerprint (same fingerprint):
        // a hit there moves to the log, so an upgrade does not hash every tree again.
        let legacy = self
            .root()
            .join("cache")
            .join("sources")
            .join(hex(fingerprint));
        let text = fs::read_to_string(legacy).ok()?;
        let (hash, size) = text.trim().split_once(' ')?;
        let found = (parse_hex32(hash)?, size.parse().ok()?);
        self.remember_source_hash(fingerprint, found);
        Some(found)
    }

    /// Remembers a tree's NAR hash and size (best effort: a failure only costs a re-hash).
    pub(crate) fn remember_source_hash(
        &self,
        fingerprint: &[u8; 32],
        (hash, size): ([u8; 32], u64),
    ) {
        let log = self.source_log();
        let mut known = self.source_hashes().loaded(&log);
        if let Some(map) = known.as_mut() {
            map.insert(*fingerprint, (hash, size));
        }
        let Some(dir) = log.parent() else { return };
        if fs::create_dir_all(dir).is_err() {
            return;
        }
        let line = format!("{} {} {size}\n", hex(fingerprint), hex(&hash));
        if let Ok(mut file) = fs::OpenOptions::new().create(true).append(true).open(&log) {
            use std::io::Write;
            // One `write` of the whole line: appends of concurrent sessions do not interleave.
            let _ = file.write_all(line.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_file_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("t");
        fs::create_dir_all(tree.join("sub")).unwrap();
        fs::write(tree.join("sub/a"), "one").unwrap();
        let before = tree_fingerprint(&tree, &|_| true).unwrap();
        assert_eq!(
            before,
            tree_fingerprint(&tree, &|_| true).unwrap(),
            "stable when unchanged"
        );
        fs::write(tree.join("sub/a"), "two").unwrap();
        assert_ne!(before, tree_fingerprint(&tree, &|_| true).unwrap());
        let filtered =
            tree_fingerprint(&tree, &|p| p.file_name().is_none_or(|n| n != "sub")).unwrap();
        assert_ne!(
            filtered,
            tree_fingerprint(&tree, &|_| true).unwrap(),
            "the filter is covered"
        );
    }

    #[test]
    fn hashes_remembered_by_earlier_versions_are_found_and_moved_to_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path().join("s")).unwrap();
        let fp = [5u8; 32];
        let legacy = store.root().join("cache/sources");
        fs::create_dir_all(&legacy).unwrap();
        fs::write(legacy.join(hex(&fp)), format!("{} 77\n", hex(&[6u8; 32]))).unwrap();
        assert_eq!(store.cached_source_hash(&fp), Some(([6u8; 32], 77)));
        fs::remove_dir_all(&legacy).unwrap();
        let again = LocalStore::open(store.root()).unwrap();
        assert_eq!(again.cached_source_hash(&fp), Some(([6u8; 32], 77)));
    }

    #[test]
    fn remembered_hashes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path().join("s")).unwrap();
        let fp = [7u8; 32];
        assert!(store.cached_source_hash(&fp).is_none());
        store.remember_source_hash(&fp, ([9u8; 32], 1234));
        assert_eq!(store.cached_source_hash(&fp), Some(([9u8; 32], 1234)));
        // Another process (a fresh store value) reads what was appended; a torn line is skipped.
        let log = store.root().join("cache/sources.log");
        let mut text = fs::read(&log).unwrap();
        text.extend_from_slice(b"0123 torn");
        fs::write(&log, text).unwrap();
        let again = LocalStore::open(store.root()).unwrap();
        assert_eq!(again.cached_source_hash(&fp), Some(([9u8; 32], 1234)));
        assert_eq!(again.cached_source_hash(&[8u8; 32]), None);
    }
}
