//! A cache of the NAR hashes of source trees (path literals, `builtins.path`), keyed by a
//! fingerprint of the tree's metadata, so that an unchanged tree is not read and hashed again
//! on every evaluation (the largest part of a warm rebuild of an image with big sources).
//!
//! The fingerprint covers, for every entry the filter keeps: its relative path, type, size,
//! mode, inode, modification and change times (nanoseconds). Writing a file updates its
//! change time, which no user can set, so a changed tree gets a new fingerprint, as git's index
//! relies on too. A hit is still only used when the store path it names is valid.

use crate::error::{io_err, Result};
use crate::local::LocalStore;
use sha2::{Digest, Sha256};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The version of the fingerprint; change it when what it covers changes.
const TAG: &[u8] = b"makes-source-fingerprint-v1\0";

/// The fingerprint of the tree at `root` as `keep` filters it.
pub(crate) fn tree_fingerprint(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(TAG);
    hasher.update(root.as_os_str().as_bytes());
    add_entry(&mut hasher, root, b"", keep)?;
    Ok(hasher.finalize().into())
}

fn add_entry(
    hasher: &mut Sha256,
    path: &Path,
    rel: &[u8],
    keep: &dyn Fn(&Path) -> bool,
) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    hasher.update((rel.len() as u64).to_le_bytes());
    hasher.update(rel);
    for n in [
        u64::from(meta.mode()),
        meta.size(),
        meta.ino(),
        meta.dev(),
        meta.mtime() as u64,
        meta.mtime_nsec() as u64,
        meta.ctime() as u64,
        meta.ctime_nsec() as u64,
    ] {
        hasher.update(n.to_le_bytes());
    }
    if meta.is_dir() {
        let mut names: Vec<_> = fs::read_dir(path)
            .map_err(io_err(path))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(io_err(path))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let child = path.join(&name);
            if keep(&child) {
                let mut child_rel = rel.to_vec();
                child_rel.push(b'/');
                child_rel.extend_from_slice(name.as_bytes());
                add_entry(hasher, &child, &child_rel, keep)?;
            }
        }
    }
    Ok(())
}

impl LocalStore {
    fn source_cache_file(&self, fingerprint: &[u8; 32]) -> PathBuf {
        let hex: String = fingerprint.iter().map(|b| format!("{b:02x}")).collect();
        self.root().join("cache").join("sources").join(hex)
    }

    /// The NAR hash and size remembered for a fingerprint.
    pub(crate) fn cached_source_hash(&self, fingerprint: &[u8; 32]) -> Option<([u8; 32], u64)> {
        let text = fs::read_to_string(self.source_cache_file(fingerprint)).ok()?;
        let (hex, size) = text.trim().split_once(' ')?;
        if hex.len() != 64 {
            return None;
        }
        let mut hash = [0u8; 32];
        for (i, byte) in hash.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some((hash, size.parse().ok()?))
    }

    /// Remembers a tree's NAR hash and size (best effort: a failure only costs a re-hash).
    pub(crate) fn remember_source_hash(
        &self,
        fingerprint: &[u8; 32],
        (hash, size): ([u8; 32], u64),
    ) {
        let file = self.source_cache_file(fingerprint);
        let Some(dir) = file.parent() else { return };
        if fs::create_dir_all(dir).is_err() {
            return;
        }
        let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
        if let Ok(mut tmp) = tempfile::NamedTempFile::new_in(dir) {
            use std::io::Write;
            if writeln!(tmp, "{hex} {size}").is_ok() {
                let _ = tmp.persist(&file);
            }
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
    fn remembered_hashes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path().join("s")).unwrap();
        let fp = [7u8; 32];
        assert!(store.cached_source_hash(&fp).is_none());
        store.remember_source_hash(&fp, ([9u8; 32], 1234));
        assert_eq!(store.cached_source_hash(&fp), Some(([9u8; 32], 1234)));
    }
}
