//! Importing a changed source tree without reading again what did not change.
//!
//! A store path of a source tree is named by the SHA-256 of the tree's NAR, one stream over
//! every entry in order. After each import of a tree of at least [`CHECKPOINT_BYTES`] of NAR,
//! a manifest (`cache/imports/<sha256 of the tree's host path>`) keeps each entry's metadata
//! (`source_tree::EntryMeta`: size, mode, inode, device, modification and change times) and
//! the hasher's state saved every [`CHECKPOINT_BYTES`] along the NAR. The next import of a
//! changed tree finds the first entry whose metadata differs, resumes the hash from the last
//! state saved before it, and reads and hashes only from there on; the entries before it are
//! copied into the new path without passing through the hasher (`copy_file_range`).
//!
//! What is trusted: an entry whose metadata is unchanged is taken to have unchanged contents,
//! as the fingerprint of a whole tree (`source_cache`) and git's index take it. Writing a
//! file changes its change time, which no user can set, so a change that keeps the size and
//! the modification time (`touch -d`) is still seen. Not seen: a change by someone who can set
//! the clock back (root), or a disk edited offline. Entries changed within a second before an
//! import began are never trusted the next time (a write in the same clock tick as the import's
//! `lstat` would leave the change time as it was). Each entry copied untrusted-by-hash is
//! checked again after the copy (size and times as listed, the bytes copied as many as the
//! size), so a file written during the import fails it rather than entering the store.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::error::{io_err, Result, StoreError};
use crate::local::LocalStore;
use crate::resumable_sha256::{ResumableSha256, SAVED_LEN};
use crate::source_tree::{EntryKind, EntryMeta, TreeEntry};

/// How much NAR lies between two saved hasher states; trees smaller than this keep no
/// manifest (hashing them again costs less than keeping one).
pub(crate) const CHECKPOINT_BYTES: u64 = 1 << 20;

const MAGIC: &[u8] = b"makes-import-manifest-v1\0";

/// The last import of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ImportManifest {
    /// When the import began (seconds since the epoch): entries changed less than a second
    /// before are not trusted.
    pub started: i64,
    pub entries: Vec<(Vec<u8>, EntryMeta)>,
    /// `(entry index, hasher state before that entry's own bytes)`, ascending.
    pub checkpoints: Vec<(usize, ResumableSha256)>,
}

/// The outcome of an import: the NAR hash and size, and the manifest to keep.
pub(crate) struct Imported {
    pub nar: ([u8; 32], u64),
    pub manifest: ImportManifest,
    /// How many entries were copied without being hashed again.
    #[cfg_attr(not(test), allow(dead_code))]
    pub reused: usize,
}

/// Seconds since the epoch now.
pub(crate) fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl ImportManifest {
    /// The index of the saved state to resume from for `entries` and that state: the last one
    /// at or before the first entry that differs from (or is not trusted in) this manifest.
    /// A saved state holds the NAR up to the end of the entry before its index, so the entry
    /// at the index itself may have changed.
    fn resume_point(&self, entries: &[TreeEntry]) -> (usize, ResumableSha256) {
        let first_changed = entries
            .iter()
            .zip(&self.entries)
            .position(|(now, (rel, before))| !self.unchanged(now, rel, before))
            .unwrap_or(entries.len().min(self.entries.len()));
        self.checkpoints
            .iter()
            .rev()
            .find(|(index, _)| *index <= first_changed)
            .map_or((0, ResumableSha256::default()), |(i, state)| {
                (*i, state.clone())
            })
    }

    /// Whether `now` serialises as the entry `rel` with `before` did. A directory's bytes are
    /// its name and its children (entries of their own), so its own times do not matter (an
    /// editor saving by rename changes them); a file or symlink must have the same metadata,
    /// not changed within a second before the import began.
    fn unchanged(&self, now: &TreeEntry, rel: &[u8], before: &EntryMeta) -> bool {
        const TYPE_BITS: u32 = 0o170_000;
        if now.rel != rel || now.meta.mode & TYPE_BITS != before.mode & TYPE_BITS {
            return false;
        }
        now.kind == EntryKind::Directory
            || (now.meta == *before && before.ctime.0 < self.started - 1)
    }

    fn to_bytes(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.started.to_le_bytes());
        out.extend_from_slice(&(self.entries.len() as u64).to_le_bytes());
        for (rel, meta) in &self.entries {
            out.extend_from_slice(&(rel.len() as u64).to_le_bytes());
            out.extend_from_slice(rel);
            for w in meta.words() {
                out.extend_from_slice(&w.to_le_bytes());
            }
        }
        out.extend_from_slice(&(self.checkpoints.len() as u64).to_le_bytes());
        for (index, state) in &self.checkpoints {
            out.extend_from_slice(&(*index as u64).to_le_bytes());
            out.extend_from_slice(&state.to_bytes());
        }
        let digest: [u8; 32] = Sha256::digest(&out).into();
        out.extend_from_slice(&digest);
        out
    }

    /// A manifest written by [`Self::to_bytes`]; `None` for anything else (a torn or foreign
    /// file is only a lost chance to skip work).
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let (body, digest) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
        if <[u8; 32]>::from(Sha256::digest(body)) != digest {
            return None;
        }
        let mut r = Reader(body.strip_prefix(MAGIC)?);
        let started = r.u64()? as i64;
        let count = r.u64()?;
        let mut entries = Vec::new();
        for _ in 0..count {
            let len = usize::try_from(r.u64()?).ok()?;
            let rel = r.take(len)?.to_vec();
            let mut words = [0u64; 8];
            for w in &mut words {
                *w = r.u64()?;
            }
            entries.push((rel, EntryMeta::from_words(words)));
        }
        let count = r.u64()?;
        let mut checkpoints = Vec::new();
        for _ in 0..count {
            let index = usize::try_from(r.u64()?).ok()?;
            checkpoints.push((index, ResumableSha256::from_bytes(r.take(SAVED_LEN)?)?));
        }
        r.0.is_empty().then_some(ImportManifest {
            started,
            entries,
            checkpoints,
        })
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

impl LocalStore {
    fn manifest_file(&self, root: &Path) -> PathBuf {
        let key: [u8; 32] = Sha256::digest(root.as_os_str().as_encoded_bytes()).into();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        self.root().join("cache").join("imports").join(hex)
    }

    /// The manifest of the last import of the tree at `root`, if one was kept.
    pub(crate) fn import_manifest(&self, root: &Path) -> Option<ImportManifest> {
        ImportManifest::from_bytes(&fs::read(self.manifest_file(root)).ok()?)
    }

    /// Keeps `manifest` for the next import of `root` (best effort), or removes the old one
    /// when the tree is too small to keep one.
    pub(crate) fn keep_import_manifest(
        &self,
        root: &Path,
        manifest: &ImportManifest,
        nar_size: u64,
    ) {
        let file = self.manifest_file(root);
        if nar_size < CHECKPOINT_BYTES {
            let _ = fs::remove_file(&file);
            return;
        }
        let Some(dir) = file.parent() else { return };
        if fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Ok(mut tmp) = tempfile::Builder::new().prefix(".tmp-").tempfile_in(dir) {
            if tmp.write_all(&manifest.to_bytes()).is_ok() {
                let _ = tmp.persist(&file);
            }
        }
    }
}

/// Copies the tree at `root`, whose entries are `entries`, to `dst` (which must not exist) and
/// computes its NAR hash and size, resuming from `previous` where it allows (see the module).
pub(crate) fn import_tree(
    root: &Path,
    entries: &[TreeEntry],
    dst: &Path,
    previous: Option<&ImportManifest>,
    started: i64,
) -> Result<Imported> {
    let (start, hasher) =
        previous.map_or((0, ResumableSha256::default()), |m| m.resume_point(entries));
    let mut checkpoints: Vec<(usize, ResumableSha256)> = previous
        .map(|m| {
            m.checkpoints
                .iter()
                .filter(|(i, _)| *i < start)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    let mut nar = NarOut {
        hasher,
        last_checkpoint: None,
    };
    let mut open_dirs: Vec<usize> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let hashing = i >= start;
        let path = entry.path_under(root);
        // A saved state holds the NAR up to the end of the previous entry's own bytes.
        if hashing && nar.checkpoint_due() {
            nar.last_checkpoint = Some(nar.hasher.len());
            checkpoints.push((i, nar.hasher.clone()));
        }
        // Directories that end before this entry are closed.
        while let Some(&top) = open_dirs.last() {
            if entries[top].is_above(entry) {
                break;
            }
            open_dirs.pop();
            if hashing {
                nar.close(top != 0);
            }
        }
        let copy = entry.path_under(dst);
        if hashing {
            if i == 0 {
                nar.str(b"nix-archive-1");
            } else {
                for s in [&b"entry"[..], b"(", b"name", entry.name(), b"node"] {
                    nar.str(s);
                }
            }
            nar.str(b"(");
        }
        match entry.kind {
            EntryKind::File { executable } => {
                if hashing {
                    nar.str(b"type");
                    nar.str(b"regular");
                    if executable {
                        nar.str(b"executable");
                        nar.str(b"");
                    }
                    nar.str(b"contents");
                }
                copy_file(&path, &copy, entry, executable, hashing.then_some(&mut nar))?;
                if hashing {
                    nar.close(i != 0);
                }
            }
            EntryKind::Symlink => {
                let target = fs::read_link(&path).map_err(io_err(&path))?;
                std::os::unix::fs::symlink(&target, &copy).map_err(io_err(&copy))?;
                if hashing {
                    for s in [&b"type"[..], b"symlink", b"target"] {
                        nar.str(s);
                    }
                    nar.str(target.as_os_str().as_encoded_bytes());
                    nar.close(i != 0);
                }
            }
            EntryKind::Directory => {
                fs::create_dir(&copy).map_err(io_err(&copy))?;
                if hashing {
                    nar.str(b"type");
                    nar.str(b"directory");
                }
                open_dirs.push(i);
            }
            EntryKind::Other => {
                return Err(StoreError::UnsupportedFileType { path });
            }
        }
    }
    while let Some(top) = open_dirs.pop() {
        nar.close(top != 0);
    }
    let size = nar.hasher.len();
    Ok(Imported {
        nar: (nar.hasher.finish(), size),
        manifest: ImportManifest {
            started,
            entries: entries.iter().map(|e| (e.rel.clone(), e.meta)).collect(),
            checkpoints,
        },
        reused: start,
    })
}

/// The NAR being hashed.
struct NarOut {
    hasher: ResumableSha256,
    /// Where the last state was saved (none yet in this run).
    last_checkpoint: Option<u64>,
}

impl NarOut {
    fn str(&mut self, s: &[u8]) {
        self.hasher.update(&(s.len() as u64).to_le_bytes());
        self.hasher.update(s);
        self.pad(s.len() as u64);
    }

    fn pad(&mut self, len: u64) {
        let rem = (len % 8) as usize;
        if rem != 0 {
            self.hasher.update(&[0u8; 8][..8 - rem]);
        }
    }

    /// Ends a node, and the `entry` around it unless it is the root.
    fn close(&mut self, in_entry: bool) {
        self.str(b")");
        if in_entry {
            self.str(b")");
        }
    }

    fn checkpoint_due(&self) -> bool {
        self.last_checkpoint
            .is_none_or(|at| self.hasher.len() - at >= CHECKPOINT_BYTES)
    }
}

/// Copies one regular file (hashing its NAR contents string into `nar` when given) and checks
/// that it was read whole and did not change while it was.
fn copy_file(
    src: &Path,
    dst: &Path,
    entry: &TreeEntry,
    executable: bool,
    nar: Option<&mut NarOut>,
) -> Result<()> {
    let len = entry.meta.size;
    let mut out = File::create(dst).map_err(io_err(dst))?;
    let mode = if executable { 0o755 } else { 0o644 };
    out.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_err(dst))?;
    let input = File::open(src).map_err(io_err(src))?;
    let mut reader = input.take(len);
    let copied = match nar {
        // The kernel copies (`copy_file_range`): the bytes never come up to be hashed.
        None => io::copy(&mut reader, &mut out).map_err(io_err(src))?,
        Some(nar) => {
            nar.hasher.update(&len.to_le_bytes());
            let mut buf = vec![0u8; 1 << 16];
            let mut total = 0u64;
            loop {
                let n = reader.read(&mut buf).map_err(io_err(src))?;
                if n == 0 {
                    break;
                }
                nar.hasher.update(&buf[..n]);
                out.write_all(&buf[..n]).map_err(io_err(dst))?;
                total += n as u64;
            }
            nar.pad(len);
            total
        }
    };
    let unchanged = EntryMeta::of_path(src).is_ok_and(|m| m == entry.meta);
    if copied != len || !unchanged {
        return Err(StoreError::SourceChanged {
            path: src.to_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nar::nar_hash_and_size;
    use crate::source_tree::walk_tree;

    fn tree(dir: &Path) -> PathBuf {
        let root = dir.join("tree");
        fs::create_dir_all(root.join("a/deep")).expect("mkdir");
        fs::create_dir_all(root.join("b")).expect("mkdir");
        for (i, name) in ["a/one", "a/deep/two", "b/three", "b/four", "z"]
            .iter()
            .enumerate()
        {
            // Large enough that saved states fall between the files.
            let bytes: Vec<u8> = (0..(700_000 + i * 1000))
                .map(|j| (j * (i + 3) % 251) as u8)
                .collect();
            fs::write(root.join(name), bytes).expect("write");
        }
        fs::set_permissions(root.join("b/three"), fs::Permissions::from_mode(0o755))
            .expect("chmod");
        std::os::unix::fs::symlink("a/one", root.join("link")).expect("symlink");
        fs::create_dir(root.join("empty")).expect("mkdir");
        root
    }

    fn import(
        root: &Path,
        dst: &Path,
        previous: Option<&ImportManifest>,
        started: i64,
    ) -> Imported {
        let entries = walk_tree(root, &|_| true).expect("walk");
        let _ = crate::fsutil::remove_tree(dst);
        import_tree(root, &entries, dst, previous, started).expect("import")
    }

    #[test]
    fn a_cold_import_gives_the_nar_hash_and_a_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = tree(dir.path());
        let dst = dir.path().join("copy");
        let got = import(&root, &dst, None, now_seconds());
        assert_eq!(got.nar, nar_hash_and_size(&root).expect("nar"));
        assert_eq!(nar_hash_and_size(&dst).expect("nar"), got.nar);
        assert_eq!(got.reused, 0);
        assert!(
            got.manifest.checkpoints.len() >= 3,
            "{:?}",
            got.manifest.checkpoints.len()
        );
        let bytes = got.manifest.to_bytes();
        assert_eq!(
            ImportManifest::from_bytes(&bytes),
            Some(got.manifest.clone())
        );
        let mut torn = bytes.clone();
        torn.truncate(bytes.len() - 1);
        assert_eq!(ImportManifest::from_bytes(&torn), None);
        // A single file and a symlink as the whole tree.
        let single = import(&root.join("z"), &dir.path().join("z"), None, 0);
        assert_eq!(single.nar, nar_hash_and_size(&root.join("z")).expect("nar"));
        let link = import(&root.join("link"), &dir.path().join("l"), None, 0);
        assert_eq!(
            link.nar,
            nar_hash_and_size(&root.join("link")).expect("nar")
        );
    }

    #[test]
    fn a_change_late_in_the_tree_rehashes_only_from_there_and_agrees_with_a_cold_import() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = tree(dir.path());
        let dst = dir.path().join("copy");
        // Trusted: the import began more than a second after the files were written.
        let first = import(&root, &dst, None, now_seconds() + 2);
        fs::write(root.join("b/four"), b"changed").expect("write");
        let second = import(&root, &dst, Some(&first.manifest), now_seconds() + 2);
        assert_eq!(second.nar, nar_hash_and_size(&root).expect("nar"));
        assert_eq!(nar_hash_and_size(&dst).expect("nar"), second.nar);
        assert!(
            second.reused > 0,
            "entries before the change were not hashed again"
        );
        // The next import after a removal still agrees.
        fs::remove_file(root.join("a/one")).expect("rm");
        let third = import(&root, &dst, Some(&second.manifest), now_seconds() + 2);
        assert_eq!(third.nar, nar_hash_and_size(&root).expect("nar"));
        assert_eq!(nar_hash_and_size(&dst).expect("nar"), third.nar);
    }

    #[test]
    fn entries_changed_just_before_the_last_import_are_not_trusted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = tree(dir.path());
        let dst = dir.path().join("copy");
        // The files' change times are within a second of this import's start.
        let first = import(&root, &dst, None, now_seconds());
        let second = import(&root, &dst, Some(&first.manifest), now_seconds());
        assert_eq!(second.reused, 0);
        assert_eq!(second.nar, first.nar);
    }

    #[test]
    fn a_change_keeping_size_and_mtime_is_seen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = tree(dir.path());
        let dst = dir.path().join("copy");
        let first = import(&root, &dst, None, now_seconds() + 2);
        let victim = root.join("a/deep/two");
        let before = fs::symlink_metadata(&victim).expect("stat");
        let mut bytes = fs::read(&victim).expect("read");
        bytes[10] ^= 0xff;
        fs::write(&victim, &bytes).expect("write");
        let times = fs::FileTimes::new()
            .set_modified(before.modified().expect("mtime"))
            .set_accessed(before.accessed().expect("atime"));
        File::options()
            .write(true)
            .open(&victim)
            .and_then(|f| f.set_times(times))
            .expect("set times");
        let second = import(&root, &dst, Some(&first.manifest), now_seconds() + 2);
        assert_ne!(second.nar, first.nar);
        assert_eq!(second.nar, nar_hash_and_size(&root).expect("nar"));
    }
}
