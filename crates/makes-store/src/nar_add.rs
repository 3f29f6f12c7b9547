//! Adding a path to the store from a NAR stream (a binary-cache download), in two steps so a
//! caller can unpack many NARs in parallel and still register them in dependency order:
//!
//! 1. [`LocalStore::stage_nar`] restores the NAR into a staging directory in `<root>/tmp`,
//!    hashing it as it is read; the NAR must be exactly the expected size (it is cut off one
//!    byte past it, so a hostile stream cannot fill the disk) and have the expected SHA-256.
//!    The tree is then canonicalised.
//! 2. [`StagedNar::install`] checks that every reference is valid (a path may refer to itself),
//!    then renames the tree into place under the path's lock and writes its record.
//!
//! Dropping a [`StagedNar`] that was not installed removes it: on any failure nothing of the
//! path stays in the store.

use std::io::{self, Read};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use crate::error::{io_err, Result, StoreError};
use crate::fsutil::{canonicalise, remove_tree};
use crate::local::{format_nar_hash, LocalStore};
use crate::nar_read::restore_nar;
use crate::path::{PathInfo, StorePath};

/// A NAR restored and verified in the store's staging area, not yet a valid path.
#[derive(Debug)]
pub struct StagedNar {
    store: LocalStore,
    path: StorePath,
    expected: ([u8; 32], u64),
    /// Holds `contents`; removed when dropped, after `Drop` removed `contents` (read-only).
    _staging: tempfile::TempDir,
    contents: PathBuf,
}

impl LocalStore {
    /// Adds `path` from the NAR `nar`, which must have the SHA-256 and size `expected`, with
    /// `references` (each valid already, or `path` itself). A valid `path` is left alone and
    /// `nar` is not read. See [`LocalStore::stage_nar`] and [`StagedNar::install`].
    pub fn add_nar(
        &self,
        path: &StorePath,
        nar: impl Read,
        expected: ([u8; 32], u64),
        references: Vec<StorePath>,
    ) -> Result<PathInfo> {
        if self.is_valid(path) {
            return self.path_info(path);
        }
        self.stage_nar(path, nar, expected)?.install(references)
    }

    /// Restores the NAR `nar` into a new staging directory and checks its SHA-256 and size
    /// against `expected` (reading exactly the NAR: anything after it is an error).
    pub fn stage_nar(
        &self,
        path: &StorePath,
        nar: impl Read,
        expected: ([u8; 32], u64),
    ) -> Result<StagedNar> {
        let tmp_dir = self.tmp_dir();
        let staging = tempfile::Builder::new()
            .prefix("nar-")
            .tempdir_in(&tmp_dir)
            .map_err(io_err(&tmp_dir))?;
        let staged = StagedNar {
            store: self.clone(),
            path: path.clone(),
            expected,
            contents: staging.path().join("contents"),
            _staging: staging,
        };
        let mut reader = HashingReader {
            inner: nar,
            hasher: Sha256::new(),
            size: 0,
            limit: expected.1,
            over_limit: false,
        };
        let restored = restore_nar(&mut reader, &staged.contents);
        // A NAR longer than announced is reported as such, whatever the parser made of it.
        let trailing = restored.is_ok() && {
            let mut byte = [0u8; 1];
            matches!(reader.read(&mut byte), Ok(1..))
        };
        if reader.over_limit || trailing {
            return Err(StoreError::NarMismatch {
                path: path.clone(),
                expected: describe(&expected.0, expected.1),
                found: format!("more than {} bytes", expected.1),
            });
        }
        restored?;
        let found: ([u8; 32], u64) = (reader.hasher.finalize().into(), reader.size);
        if found != expected {
            return Err(StoreError::NarMismatch {
                path: path.clone(),
                expected: describe(&expected.0, expected.1),
                found: describe(&found.0, found.1),
            });
        }
        canonicalise(&staged.contents)?;
        Ok(staged)
    }
}

impl StagedNar {
    /// The store path this NAR will be installed as.
    pub fn path(&self) -> &StorePath {
        &self.path
    }

    /// Makes the staged tree the valid path with `references`, once each of them (other than
    /// the path itself) is valid. If the path became valid meanwhile (another process), that
    /// one is kept and its record returned.
    pub fn install(self, mut references: Vec<StorePath>) -> Result<PathInfo> {
        references.sort();
        references.dedup();
        if let Some(missing) = references
            .iter()
            .find(|r| **r != self.path && !self.store.is_valid(r))
        {
            return Err(StoreError::ReferenceNotValid {
                path: self.path.clone(),
                reference: missing.clone(),
            });
        }
        self.store
            .install_staged(&self.contents, &self.path, self.expected, references)?;
        self.store.path_info(&self.path)
    }
}

impl Drop for StagedNar {
    fn drop(&mut self) {
        // Canonicalised contents are read-only: TempDir's own removal would fail. Installed
        // contents were renamed away, and a missing path is not an error.
        let _ = remove_tree(&self.contents);
    }
}

fn describe(hash: &[u8; 32], size: u64) -> String {
    format!("{} ({size} bytes)", format_nar_hash(hash))
}

/// Hashes and counts what is read, and fails once more than `limit` bytes come through.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    limit: u64,
    over_limit: bool,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Ask for at most one byte past the limit: enough to tell that it was crossed.
        let room = self.limit.saturating_sub(self.size).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.size += n as u64;
        if self.size > self.limit {
            self.over_limit = true;
            return Err(io::Error::other("the NAR is longer than expected"));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nar::{nar_hash_and_size, write_nar};
    use std::fs;
    use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("root")).expect("open");
        (dir, store)
    }

    fn path(name: &str) -> StorePath {
        crate::path::make_store_path("output:out", &[9u8; 32], name)
    }

    /// A tree with a subdirectory, an executable, an empty file and two symlinks.
    fn sample_tree(dir: &std::path::Path) -> PathBuf {
        let root = dir.join("tree");
        fs::create_dir_all(root.join("bin")).expect("mkdir");
        fs::create_dir_all(root.join("share/empty-dir")).expect("mkdir");
        fs::write(root.join("bin/run"), "#!/bin/sh\necho hi\n").expect("write");
        fs::set_permissions(root.join("bin/run"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
        fs::write(root.join("share/empty"), "").expect("write");
        fs::write(root.join("share/data"), vec![7u8; 100_003]).expect("write");
        symlink("../share", root.join("bin/share")).expect("symlink");
        symlink("/nix/store/abs/target", root.join("abs")).expect("symlink");
        root
    }

    fn nar_of(path: &std::path::Path) -> Vec<u8> {
        let mut nar = Vec::new();
        write_nar(path, &mut nar).expect("nar");
        nar
    }

    fn leftovers(store: &LocalStore) -> Vec<PathBuf> {
        let mut found = Vec::new();
        for dir in ["tmp", "store", "db"] {
            for entry in fs::read_dir(store.root().join(dir)).expect("read_dir") {
                found.push(entry.expect("entry").path());
            }
        }
        found
    }

    #[test]
    fn add_nar_round_trips_write_nar() {
        let (dir, store) = store();
        let tree = sample_tree(dir.path());
        let nar = nar_of(&tree);
        let expected = nar_hash_and_size(&tree).expect("hash");
        let p = path("tree");
        let info = store
            .add_nar(&p, nar.as_slice(), expected, vec![p.clone()])
            .expect("add");
        assert_eq!(info.references, vec![p.clone()]);
        assert_eq!(info.nar_size, expected.1);
        let real = store.real_path(&p);
        assert_eq!(nar_hash_and_size(&real).expect("hash"), expected);
        assert_eq!(nar_of(&real), nar);
        let mode = |q: &str| fs::symlink_metadata(real.join(q)).expect("stat").mode() & 0o7777;
        assert_eq!(
            (mode(""), mode("bin/run"), mode("share/empty")),
            (0o555, 0o555, 0o444)
        );
        assert_eq!(
            fs::read_link(real.join("bin/share")).expect("link"),
            PathBuf::from("../share")
        );
        assert!(fs::read_dir(store.root().join("tmp"))
            .expect("tmp")
            .next()
            .is_none());
        // Already valid: the reader is not touched.
        let again = store
            .add_nar(&p, io::empty(), expected, vec![])
            .expect("again");
        assert_eq!(again, info);
    }

    #[test]
    fn single_file_and_symlink_nars() {
        let (dir, store) = store();
        let file = dir.path().join("file");
        fs::write(&file, "just a file").expect("write");
        let link = dir.path().join("link");
        symlink("somewhere", &link).expect("symlink");
        for (name, src) in [("file", &file), ("link", &link)] {
            let p = path(name);
            let expected = nar_hash_and_size(src).expect("hash");
            store
                .add_nar(&p, nar_of(src).as_slice(), expected, vec![])
                .expect("add");
            assert_eq!(nar_of(&store.real_path(&p)), nar_of(src));
        }
    }

    #[test]
    fn mismatches_and_missing_references_leave_nothing() {
        let (dir, store) = store();
        let tree = sample_tree(dir.path());
        let nar = nar_of(&tree);
        let (hash, size) = nar_hash_and_size(&tree).expect("hash");
        let p = path("tree");

        let mut flipped = nar.clone();
        let at = flipped.len() - 200;
        flipped[at] ^= 1;
        let mut wrong_hash = hash;
        wrong_hash[0] ^= 1;
        let mut longer = nar.clone();
        longer.extend_from_slice(&[0u8; 8]);
        type Case = (&'static str, Vec<u8>, ([u8; 32], u64));
        let cases: Vec<Case> = vec![
            ("flipped byte", flipped, (hash, size)),
            ("wrong hash", nar.clone(), (wrong_hash, size)),
            ("announced shorter", nar.clone(), (hash, size - 8)),
            ("announced longer", nar.clone(), (hash, size + 8)),
            ("trailing data", longer, (hash, size)),
            ("truncated", nar[..nar.len() / 2].to_vec(), (hash, size)),
        ];
        for (what, bytes, expected) in cases {
            let err = store
                .add_nar(&p, bytes.as_slice(), expected, vec![])
                .expect_err(what);
            assert!(
                matches!(
                    err,
                    StoreError::NarMismatch { .. } | StoreError::InvalidNar { .. }
                ),
                "{what}: {err}"
            );
            assert!(!store.is_valid(&p), "{what}");
            assert_eq!(leftovers(&store), Vec::<PathBuf>::new(), "{what}");
        }

        let dep = path("dep");
        let err = store
            .add_nar(&p, nar.as_slice(), (hash, size), vec![dep.clone()])
            .expect_err("reference not valid");
        assert!(
            matches!(&err, StoreError::ReferenceNotValid { reference, .. } if *reference == dep),
            "{err}"
        );
        assert_eq!(leftovers(&store), Vec::<PathBuf>::new());
    }
}
