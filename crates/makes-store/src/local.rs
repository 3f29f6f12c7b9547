//! `LocalStore`: a store on disk under one root directory, named as if it were `/nix/store`.
//!
//! Layout under the root (the caller chooses it, e.g. from `MAKES_STORE_DIR`):
//!
//! - `store/<hash>-<name>`: the contents of each path, canonicalised (read-only, mtime 1);
//! - `db/<hash>.json`: the [`PathInfo`] of each valid path. Its existence is what makes a path
//!   valid; it is written (temporary file, then rename) only once the contents are complete
//!   and canonicalised, so a path without a record, e.g. left by a killed build, is never
//!   trusted and is removed before it is built again;
//! - `logs/<hash>-<name>.log`: builder logs;
//! - `tmp/`: staging directories, on the same file system as `store/` so renames are atomic;
//! - `locks/<hash>.lock`: per-path file locks, so two processes never build one path at once.

use std::collections::{BTreeMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;
use sha2::Digest;

use crate::base_dir::BaseDirs;
use crate::build_log::BuildLogSettings;
use crate::dir_listings::DirListings;
use crate::error::{io_err, Result, StoreError};
use crate::fsutil::{canonicalise, canonicalise_top, remove_tree};
use crate::nar::{copy_with_nar_hash, nar_hash_and_size, write_nar, HashingWriter};
use crate::nixbase32;
use crate::path::{source_store_path, validate_name, PathInfo, StorePath};
use crate::refscan::RefScanner;
use crate::source_cache::{fingerprint_of, SourceHashes};
use crate::source_import::{import_tree, now_seconds};
use crate::source_tree::{walk_tree_listed, Listed};
use crate::valid_paths::{Lookup, ValidPaths, QUESTIONS_BEFORE_LISTING};

/// What [`LocalStore::check_source`] found: the name asked for and the valid store path of
/// the unchanged tree under it, if the store remembers the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCheck(Option<(String, StorePath)>);

/// A store rooted at a host directory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// How builders' output is capped and shown.
    build_log: BuildLogSettings,
    /// The paths known valid, shared by every clone (see `valid_paths`).
    valid_paths: std::sync::Arc<ValidPaths>,
    /// The remembered NAR hashes of source trees, read once (see `source_cache`).
    source_hashes: std::sync::Arc<SourceHashes>,
    /// The remembered listings of source directories, read once (see `dir_listings`).
    dir_listings: std::sync::Arc<DirListings>,
    /// The directory holding the source trees walked of late, to `lstat` below (see
    /// `base_dir`).
    base_dirs: std::sync::Arc<BaseDirs>,
}

impl LocalStore {
    /// Where the listings of source directories are remembered (see `dir_listings`).
    fn dir_listings_log(&self) -> PathBuf {
        self.root.join("cache").join("dirs.log")
    }

    /// Drops the source directories' listings held in memory: called before an image build,
    /// which walks no source tree and should not carry them in its peak memory.
    pub(crate) fn release_source_listings(&self) {
        self.dir_listings.release(&self.dir_listings_log());
        self.base_dirs.release();
    }

    /// Opens (creating if needed) the store at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let store = LocalStore {
            root: root.into(),
            build_log: BuildLogSettings::default(),
            valid_paths: std::sync::Arc::default(),
            source_hashes: std::sync::Arc::default(),
            dir_listings: std::sync::Arc::default(),
            base_dirs: std::sync::Arc::default(),
        };
        for dir in ["store", "db", "logs", "tmp", "locks"] {
            let d = store.root.join(dir);
            fs::create_dir_all(&d).map_err(io_err(&d))?;
        }
        Ok(store)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The host directory holding the contents of store paths (`<root>/store`).
    pub fn store_dir(&self) -> PathBuf {
        self.root.join("store")
    }

    /// Where the staging directories live (`<root>/tmp`).
    pub(crate) fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Where the contents of `path` are (or will be) on the host.
    pub fn real_path(&self, path: &StorePath) -> PathBuf {
        self.store_dir().join(path.base_name())
    }

    /// The builder log of `path`.
    /// This store with `settings` for the output of the builders it runs.
    pub fn with_build_log(mut self, settings: BuildLogSettings) -> Self {
        self.build_log = settings;
        self
    }

    pub(crate) fn build_log(&self) -> &BuildLogSettings {
        &self.build_log
    }

    pub fn log_path(&self, path: &StorePath) -> PathBuf {
        self.root
            .join("logs")
            .join(format!("{}.log", path.base_name()))
    }

    pub(crate) fn record_path(&self, path: &StorePath) -> PathBuf {
        self.root.join("db").join(format!("{}.json", path.hash))
    }

    /// Whether `path` is valid: its record exists and so do its contents.
    pub fn is_valid(&self, path: &StorePath) -> bool {
        let base = path.base_name();
        match self.valid_paths.lookup(&base) {
            Lookup::Valid => return true,
            Lookup::ListFirst => {
                self.valid_paths
                    .fill(&self.root.join("db"), &self.store_dir());
                if self.valid_paths.lookup(&base) == Lookup::Valid {
                    return true;
                }
            }
            Lookup::AskDisk => {}
        }
        let valid =
            self.record_path(path).is_file() && fs::symlink_metadata(self.real_path(path)).is_ok();
        if valid {
            self.valid_paths.remember(&base);
        }
        valid
    }

    pub(crate) fn source_hashes(&self) -> &SourceHashes {
        &self.source_hashes
    }

    /// The session's knowledge of valid paths (see `valid_paths`).
    pub(crate) fn valid_paths(&self) -> &ValidPaths {
        &self.valid_paths
    }

    /// The record of a valid path.
    pub fn path_info(&self, path: &StorePath) -> Result<PathInfo> {
        if let Some(info) = self.valid_paths.record(path) {
            return Ok(info);
        }
        let not_valid = || StoreError::PathNotValid { path: path.clone() };
        if !self.is_valid(path) {
            return Err(not_valid());
        }
        let record = self.record_path(path);
        let bytes = fs::read(&record).map_err(io_err(&record))?;
        let info: PathInfo =
            serde_json::from_slice(&bytes).map_err(|source| StoreError::CorruptRecord {
                path: record.clone(),
                source,
            })?;
        if &info.path != path {
            return Err(not_valid());
        }
        self.valid_paths.remember_record(&info);
        Ok(info)
    }

    /// Adds a host file, symlink or directory as Nix adds a path literal: the store path is
    /// computed from its NAR hash ([`source_store_path`]), it has no references, and it is
    /// copied in only if not already valid.
    pub fn add_source_path(&self, fs_path: &Path, name: &str) -> Result<StorePath> {
        self.add_filtered_path(fs_path, name, &|_| true)
    }

    /// [`LocalStore::add_source_path`] of the tree without the entries `keep` rejects, as
    /// `builtins.path { filter; }` adds it (the store path is that of the filtered NAR).
    pub fn add_filtered_path(
        &self,
        fs_path: &Path,
        name: &str,
        keep: &dyn Fn(&Path) -> bool,
    ) -> Result<StorePath> {
        self.add_checked_path(fs_path, name, keep, None)
    }

    /// The valid store path an unchanged tree at `fs_path` (as `keep` filters it) was
    /// imported as under `name`, if this store remembers it: the part of
    /// [`LocalStore::add_filtered_path`] that only reads, for another thread to do ahead of
    /// it (see [`LocalStore::add_checked_path`]).
    pub fn check_source(
        &self,
        fs_path: &Path,
        name: &str,
        keep: &dyn Fn(&Path) -> bool,
    ) -> SourceCheck {
        let found = validate_name(name)
            .ok()
            .and_then(|()| self.walk_source(fs_path, keep, now_seconds()).ok())
            .and_then(|(_, fingerprint)| self.cached_source_hash(&fingerprint))
            .and_then(|nar| self.known_source_path(nar, name));
        SourceCheck(found.map(|path| (name.to_owned(), path)))
    }

    /// Reads ahead what checking `trees` source trees asks for: the remembered NAR hashes,
    /// and the listing of valid paths when the trees are enough to ask for it anyway. For a
    /// thread to do while another starts on the trees, which would otherwise wait for each
    /// read in turn.
    pub fn prepare_source_checks(&self, trees: usize) {
        self.load_source_hashes();
        if trees > QUESTIONS_BEFORE_LISTING {
            self.valid_paths
                .fill(&self.root.join("db"), &self.store_dir());
        }
    }

    /// Reads, on a thread of its own, the two logs that checking or importing a source tree
    /// reads in full first (the remembered directory listings and NAR hashes), for a caller
    /// about to parse a project: the reads then overlap the parsing instead of following it
    /// (about 40 M instructions for a store that knows 5,000 trees). Best effort: without a
    /// thread, the first walk reads them as before; a walk that comes first takes the read
    /// over, and the thread then finds it done.
    pub fn read_ahead_source_caches(&self) {
        let store = self.clone();
        let spawned = std::thread::Builder::new()
            .name("source-caches".into())
            .spawn(move || store.read_source_caches());
        drop(spawned);
    }

    /// What [`LocalStore::read_ahead_source_caches`] reads, on the calling thread: the
    /// listings first (a walk needs them before the fingerprint it looks up).
    fn read_source_caches(&self) {
        self.dir_listings.load(&self.dir_listings_log());
        self.load_source_hashes();
    }

    /// The entries of the tree at `fs_path` and its fingerprint (see `source_cache`): an
    /// unchanged directory is not listed again (see `dir_listings`).
    fn walk_source(
        &self,
        fs_path: &Path,
        keep: &dyn Fn(&Path) -> bool,
        started: i64,
    ) -> Result<(Vec<crate::source_tree::TreeEntry>, [u8; 32])> {
        let log = self.dir_listings_log();
        let base = self.base_dirs.for_root(fs_path);
        let listed = Listed {
            listings: &self.dir_listings,
            log: &log,
            now: started,
            base: base.as_deref(),
        };
        let entries = walk_tree_listed(fs_path, keep, Some(&listed))?;
        let fingerprint = fingerprint_of(fs_path, &entries);
        Ok((entries, fingerprint))
    }

    /// The valid source path of NAR hash and size `nar` under `name`, with its record
    /// remembered; `None` if it is not valid.
    fn known_source_path(&self, (known, size): ([u8; 32], u64), name: &str) -> Option<StorePath> {
        let path = source_store_path(&known, name);
        if !self.is_valid(&path) {
            return None;
        }
        // The record of a source path is its NAR hash and size, without references: the
        // closure of an image of it need not read it.
        self.valid_paths.remember_record(&PathInfo {
            path: path.clone(),
            references: Vec::new(),
            nar_size: size,
            nar_hash: format_nar_hash(&known),
        });
        Some(path)
    }

    /// [`LocalStore::add_filtered_path`], taking the tree as unchanged when `checked` (what
    /// [`LocalStore::check_source`] found for the same `fs_path` and `keep`) names a valid
    /// path; otherwise it is walked, and imported if it changed, as without it.
    pub fn add_checked_path(
        &self,
        fs_path: &Path,
        name: &str,
        keep: &dyn Fn(&Path) -> bool,
        checked: Option<SourceCheck>,
    ) -> Result<StorePath> {
        validate_name(name)?;
        if let Some(SourceCheck(Some((checked_name, path)))) = checked {
            if checked_name == name {
                return Ok(path);
            }
        }
        let started = now_seconds();
        // An unchanged tree is not read again (see `source_cache`).
        let (entries, fingerprint) = self.walk_source(fs_path, keep, started)?;
        if let Some(path) = self
            .cached_source_hash(&fingerprint)
            .and_then(|nar| self.known_source_path(nar, name))
        {
            return Ok(path);
        }
        // One read of what changed since the last import of the tree (all of it the first
        // time): copied to a staging area while the NAR hash that names the path is computed.
        let previous = self.import_manifest(fs_path);
        let tmp_dir = self.tmp_dir();
        let staging = tempfile::Builder::new()
            .prefix("add-")
            .tempdir_in(&tmp_dir)
            .map_err(io_err(&tmp_dir))?;
        let staged = staging.path().join("contents");
        let result = (|| {
            let imported = import_tree(fs_path, &entries, &staged, previous.as_ref(), started)?;
            let (hash, size) = imported.nar;
            self.remember_source_hash(&fingerprint, (hash, size));
            self.keep_import_manifest(fs_path, &imported.manifest, size);
            let path = source_store_path(&hash, name);
            canonicalise(&staged)?;
            self.install_staged(&staged, &path, (hash, size), Vec::new())?;
            Ok(path)
        })();
        // Canonicalised staging contents are read-only: TempDir's own removal would fail.
        let _ = remove_tree(&staged);
        result
    }

    /// Copies the host tree `fs_path` (without what `keep` rejects) into the store as `path`,
    /// under its lock: staged, canonicalised, checked against the expected NAR hash and size,
    /// renamed into place, then recorded with `references`. A valid `path` is left alone.
    pub(crate) fn install_copy(
        &self,
        fs_path: &Path,
        path: &StorePath,
        keep: &dyn Fn(&Path) -> bool,
        expected: ([u8; 32], u64),
        references: Vec<StorePath>,
    ) -> Result<()> {
        if self.is_valid(path) {
            return Ok(());
        }
        let tmp_dir = self.tmp_dir();
        let staging = tempfile::Builder::new()
            .prefix("add-")
            .tempdir_in(&tmp_dir)
            .map_err(io_err(&tmp_dir))?;
        let staged = staging.path().join("contents");
        let result = (|| {
            let copied = copy_with_nar_hash(fs_path, &staged, keep)?;
            if copied != expected {
                return Err(StoreError::SourceChanged {
                    path: fs_path.to_owned(),
                });
            }
            canonicalise(&staged)?;
            self.install_staged(&staged, path, expected, references)
        })();
        // Canonicalised staging contents are read-only: TempDir's own removal would fail.
        let _ = remove_tree(&staged);
        result
    }

    /// Renames the canonicalised tree `staged` into place as `path` (under its lock) and
    /// records it; a `path` that is already valid is left alone. If the record cannot be
    /// written, the contents are removed again.
    pub(crate) fn install_staged(
        &self,
        staged: &Path,
        path: &StorePath,
        (hash, size): ([u8; 32], u64),
        references: Vec<StorePath>,
    ) -> Result<()> {
        let lock = self.lock(path)?;
        if self.is_valid(path) {
            return Ok(());
        }
        let real = self.real_path(path);
        remove_tree(&real)?;
        // Moving a directory to another parent updates its `..`: it must be writable
        // (for non-root) until it is in place.
        let is_dir = fs::symlink_metadata(staged)
            .map_err(io_err(staged))?
            .is_dir();
        if is_dir {
            fs::set_permissions(staged, fs::Permissions::from_mode(0o755))
                .map_err(io_err(staged))?;
        }
        fs::rename(staged, &real).map_err(io_err(&real))?;
        let registered = (|| {
            if is_dir {
                canonicalise_top(&real)?;
            }
            self.write_record(&PathInfo {
                path: path.clone(),
                references,
                nar_size: size,
                nar_hash: format_nar_hash(&hash),
            })
        })();
        match registered {
            Ok(()) => lock.finished(),
            Err(_) => {
                let _ = remove_tree(&real);
            }
        }
        registered
    }

    /// Adds `contents` as a read-only file, as `builtins.toFile` does: a "text" store path
    /// whose references are `references` (the store paths named by the text's context).
    pub fn add_text(
        &self,
        name: &str,
        contents: &[u8],
        references: &[StorePath],
    ) -> Result<StorePath> {
        validate_name(name)?;
        let mut refs: Vec<StorePath> = references.to_vec();
        refs.sort();
        refs.dedup();
        let kind: String = std::iter::once("text".to_owned())
            .chain(refs.iter().map(|r| r.to_absolute()))
            .collect::<Vec<_>>()
            .join(":");
        let digest: [u8; 32] = sha2::Sha256::digest(contents).into();
        let path = crate::path::make_store_path(&kind, &digest, name);
        if self.is_valid(&path) {
            return Ok(path);
        }
        let lock = self.lock(&path)?;
        if self.is_valid(&path) {
            return Ok(path);
        }
        let tmp_dir = self.tmp_dir();
        let mut staged = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        staged.write_all(contents).map_err(io_err(staged.path()))?;
        let real = self.real_path(&path);
        remove_tree(&real)?;
        staged.persist(&real).map_err(|e| io_err(&real)(e.error))?;
        canonicalise(&real)?;
        let (hash, size) = nar_hash_and_size(&real)?;
        self.write_record(&PathInfo {
            path: path.clone(),
            references: refs,
            nar_size: size,
            nar_hash: format_nar_hash(&hash),
        })?;
        lock.finished();
        Ok(path)
    }

    /// Every path reachable from `roots` through references (the roots included), sorted by
    /// path. Fails if any of them is not valid.
    pub fn closure(&self, roots: &[StorePath]) -> Result<Vec<PathInfo>> {
        let mut seen: BTreeMap<StorePath, PathInfo> = BTreeMap::new();
        let mut queue: VecDeque<StorePath> = roots.iter().cloned().collect();
        while let Some(p) = queue.pop_front() {
            if seen.contains_key(&p) {
                continue;
            }
            let info = self.path_info(&p)?;
            queue.extend(
                info.references
                    .iter()
                    .filter(|r| !seen.contains_key(r))
                    .cloned(),
            );
            seen.insert(p, info);
        }
        Ok(seen.into_values().collect())
    }

    /// Builds `out` once: under an exclusive per-path lock, returns at once if `out` is
    /// already valid (also when another process built it while we waited); otherwise removes
    /// any leftover of an interrupted build, calls `produce` with the host path the output
    /// must be created at, canonicalises the result, scans it for the hash parts of
    /// `candidate_refs` and of `out` itself, and records it. On any error the partial output
    /// is removed and `out` stays invalid.
    pub fn build_output<E, F>(
        &self,
        out: &StorePath,
        candidate_refs: &[StorePath],
        produce: F,
    ) -> Result<PathInfo, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Path) -> Result<(), E>,
    {
        self.build_output_registered(out, produce, |store, out| {
            store.register_output(out, candidate_refs)
        })
    }

    /// Locks `out`, lets `produce` make it, and records it with `register`.
    fn build_output_registered<E, F, R>(
        &self,
        out: &StorePath,
        produce: F,
        register: R,
    ) -> Result<PathInfo, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Path) -> Result<(), E>,
        R: FnOnce(&Self, &StorePath) -> Result<PathInfo>,
    {
        if self.is_valid(out) {
            return Ok(self.path_info(out)?);
        }
        let lock = self.lock(out)?;
        if self.is_valid(out) {
            return Ok(self.path_info(out)?);
        }
        let real = self.real_path(out);
        remove_tree(&real)?;
        if let Err(err) = produce(&real) {
            let _ = remove_tree(&real);
            return Err(err);
        }
        match register(self, out) {
            Ok(info) => {
                lock.finished();
                Ok(info)
            }
            Err(err) => {
                let _ = remove_tree(&real);
                Err(err.into())
            }
        }
    }

    /// [`Self::build_output`] for a producer of one regular file that may hash it as it writes
    /// it ([`crate::FileNarHasher`]), sparing the store a second read of a large output. The
    /// output refers to no store path. The store still checks that what is there is a regular,
    /// non-executable file of the length hashed; otherwise (or without a hash) it hashes the
    /// output itself.
    pub fn build_file_output<E, F>(&self, out: &StorePath, produce: F) -> Result<PathInfo, E>
    where
        E: From<StoreError>,
        F: FnOnce(&Path) -> Result<Option<crate::FileNar>, E>,
    {
        let hashed = std::cell::Cell::new(None);
        self.build_output_registered(
            out,
            |real| {
                hashed.set(produce(real)?);
                Ok(())
            },
            |store, out| match hashed.get() {
                Some(nar) => store.register_prehashed_file(out, nar),
                None => store.register_output(out, &[]),
            },
        )
    }

    fn register_prehashed_file(&self, out: &StorePath, nar: crate::FileNar) -> Result<PathInfo> {
        let real = self.real_path(out);
        canonicalise(&real)?;
        let meta = fs::symlink_metadata(&real).map_err(io_err(&real))?;
        let plain_file = meta.file_type().is_file() && meta.permissions().mode() & 0o111 == 0;
        if !plain_file || meta.len() != nar.content_len {
            return self.register_output(out, &[]);
        }
        let info = PathInfo {
            path: out.clone(),
            references: Vec::new(),
            nar_size: nar.nar_size,
            nar_hash: format_nar_hash(&nar.nar_hash),
        };
        self.write_record(&info)?;
        Ok(info)
    }

    fn register_output(&self, out: &StorePath, candidate_refs: &[StorePath]) -> Result<PathInfo> {
        let real = self.real_path(out);
        if fs::symlink_metadata(&real).is_err() {
            return Err(StoreError::OutputNotCreated { path: out.clone() });
        }
        canonicalise(&real)?;
        let candidates = candidate_refs.iter().cloned().chain([out.clone()]);
        let mut sink = Tee(HashingWriter::default(), RefScanner::new(candidates));
        write_nar(&real, &mut sink)?;
        let Tee(hashing, scanner) = sink;
        let (hash, size) = hashing.finish();
        let info = PathInfo {
            path: out.clone(),
            references: scanner.into_found(),
            nar_size: size,
            nar_hash: format_nar_hash(&hash),
        };
        self.write_record(&info)?;
        Ok(info)
    }

    /// Writes the record atomically: a temporary file in `db/`, then a rename.
    fn write_record(&self, info: &PathInfo) -> Result<()> {
        let record = self.record_path(&info.path);
        let db = self.root.join("db");
        let mut tmp = tempfile::NamedTempFile::new_in(&db).map_err(io_err(&db))?;
        let json = serde_json::to_vec_pretty(info).map_err(|source| StoreError::CorruptRecord {
            path: record.clone(),
            source,
        })?;
        tmp.write_all(&json).map_err(io_err(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io_err(tmp.path()))?;
        tmp.persist(&record).map_err(|e| io_err(&record)(e.error))?;
        self.valid_paths.remember_record(info);
        Ok(())
    }

    /// Takes the exclusive lock of `path`, waiting for other holders; released on drop.
    pub(crate) fn lock(&self, path: &StorePath) -> Result<PathLock> {
        let lock_path = self.root.join("locks").join(format!("{}.lock", path.hash));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path))?;
        FileExt::lock_exclusive(&file).map_err(io_err(&lock_path))?;
        Ok(PathLock {
            _file: file,
            path: lock_path,
        })
    }
}

/// The exclusive lock of one store path (`locks/<hash>.lock`), released on drop.
pub(crate) struct PathLock {
    _file: File,
    path: PathBuf,
}

impl PathLock {
    /// The path is valid now: its lock file goes, still held, so that finished paths leave no
    /// files behind. A process waiting on it gets the lock next and finds the path valid, as
    /// every holder checks before it builds; a later one makes a new file.
    pub(crate) fn finished(self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// `sha256:<nix-base32>`, the form Nix prints NAR hashes in.
pub(crate) fn format_nar_hash(hash: &[u8; 32]) -> String {
    format!("sha256:{}", nixbase32::encode(hash))
}

/// Writes everything to two sinks.
struct Tee<A, B>(A, B);

impl<A: Write, B: Write> Write for Tee<A, B> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_all(buf)?;
        self.1.write_all(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()?;
        self.1.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    fn store() -> (tempfile::TempDir, LocalStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(dir.path().join("root")).expect("open");
        (dir, store)
    }

    fn out_path(name: &str) -> StorePath {
        crate::path::make_store_path("output:out", &[7u8; 32], name)
    }

    #[test]
    fn add_source_path_copies_and_canonicalises() {
        let (dir, store) = store();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("d")).expect("mkdir");
        fs::write(src.join("d/f"), "data").expect("write");
        fs::write(src.join("x"), "#!/bin/sh").expect("write");
        fs::set_permissions(src.join("x"), fs::Permissions::from_mode(0o750)).expect("chmod");
        symlink("d/f", src.join("l")).expect("symlink");

        let p = store.add_source_path(&src, "src").expect("add");
        let (hash, size) = nar_hash_and_size(&src).expect("hash");
        assert_eq!(p, source_store_path(&hash, "src"));
        assert!(store.is_valid(&p));
        let info = store.path_info(&p).expect("info");
        assert_eq!(info.nar_size, size);
        assert!(info.references.is_empty());
        let real = store.real_path(&p);
        let mode = |q: &str| fs::symlink_metadata(real.join(q)).expect("stat").mode() & 0o7777;
        assert_eq!((mode(""), mode("d/f"), mode("x")), (0o555, 0o444, 0o555));
        assert_eq!(
            fs::symlink_metadata(real.join("l")).expect("stat").mtime(),
            1
        );
        // Adding again is a no-op giving the same path.
        assert_eq!(store.add_source_path(&src, "src").expect("again"), p);
        assert!(store.add_source_path(&src, ".bad").is_err());
    }

    #[test]
    fn build_output_records_references_and_is_idempotent() {
        let (dir, store) = store();
        let src = dir.path().join("dep");
        fs::write(&src, "dep").expect("write");
        let dep = store.add_source_path(&src, "dep").expect("add");
        let unrelated = out_path("unrelated");
        let out = out_path("out");
        let dep_abs = dep.to_absolute();
        let self_abs = out.to_absolute();
        let info = store
            .build_output::<StoreError, _>(&out, &[dep.clone(), unrelated], |real| {
                fs::create_dir(real).expect("mkdir");
                symlink(&dep_abs, real.join("dep")).expect("symlink");
                fs::write(real.join("me"), &self_abs).expect("write");
                Ok(())
            })
            .expect("build");
        let mut expected = vec![dep.clone(), out.clone()];
        expected.sort();
        assert_eq!(info.references, expected);
        assert_eq!(store.path_info(&out).expect("info"), info);
        let again = store
            .build_output::<StoreError, _>(&out, &[], |_| panic!("must not rebuild"))
            .expect("again");
        assert_eq!(again, info);
        let closure = store.closure(std::slice::from_ref(&out)).expect("closure");
        let paths: Vec<_> = closure.iter().map(|i| i.path.clone()).collect();
        assert_eq!(paths, expected);
    }

    #[test]
    fn failed_or_missing_outputs_leave_nothing() {
        let (_dir, store) = store();
        let out = out_path("fails");
        let err = store.build_output(&out, &[], |real| {
            fs::write(real, "partial").expect("write");
            Err(StoreError::OutputNotCreated { path: out.clone() })
        });
        assert!(err.is_err());
        assert!(!store.real_path(&out).exists());
        assert!(!store.is_valid(&out));
        let err = store
            .build_output::<StoreError, _>(&out, &[], |_| Ok(()))
            .expect_err("no output");
        assert!(matches!(err, StoreError::OutputNotCreated { .. }));
        assert!(matches!(
            store.path_info(&out),
            Err(StoreError::PathNotValid { .. })
        ));
    }

    #[test]
    fn leftover_without_record_is_replaced() {
        let (_dir, store) = store();
        let out = out_path("leftover");
        let real = store.real_path(&out);
        fs::create_dir(&real).expect("mkdir");
        fs::write(real.join("junk"), "from a killed build").expect("write");
        assert!(!store.is_valid(&out));
        store
            .build_output::<StoreError, _>(&out, &[], |real| {
                assert!(!real.exists(), "leftover removed before produce");
                fs::write(real, "fresh").map_err(io_err(real))
            })
            .expect("build");
        assert_eq!(fs::read(&real).expect("read"), b"fresh");
    }

    #[test]
    fn concurrent_builders_build_once() {
        let (_dir, store) = store();
        let out = out_path("concurrent");
        let barrier = Arc::new(Barrier::new(2));
        let runs = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (store, out, barrier, runs) =
                    (store.clone(), out.clone(), barrier.clone(), runs.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    store
                        .build_output::<StoreError, _>(&out, &[], |real| {
                            runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(200));
                            fs::write(real, "once").map_err(io_err(real))
                        })
                        .expect("build")
                })
            })
            .collect();
        let infos: Vec<PathInfo> = handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect();
        assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(infos[0], infos[1]);
    }

    #[test]
    fn a_session_reads_the_record_of_a_path_it_knows_once_at_most() {
        let (dir, store) = store();
        let _session = store.session_lock().expect("session");
        let src = dir.path().join("src");
        fs::write(&src, "source").expect("write");
        let path = store.add_source_path(&src, "src").expect("add");
        let info = store.path_info(&path).expect("info");
        // The second import of the unchanged tree is the source cache's: it knows the record.
        let fresh = LocalStore::open(store.root()).expect("open");
        let _fresh_session = fresh.session_lock().expect("session");
        assert_eq!(fresh.add_source_path(&src, "src").expect("again"), path);
        // Only the disk's copy of the record is spoiled: neither session reads it again.
        fs::write(store.record_path(&path), "{").expect("spoil");
        let want = std::slice::from_ref(&info);
        assert_eq!(
            store.closure(std::slice::from_ref(&path)).expect("closure"),
            want
        );
        assert_eq!(
            fresh.closure(std::slice::from_ref(&path)).expect("closure"),
            want
        );
        let third = LocalStore::open(store.root()).expect("open");
        assert!(matches!(
            third.path_info(&path),
            Err(StoreError::CorruptRecord { .. })
        ));
    }

    #[test]
    fn reading_the_source_caches_ahead_loads_both_logs_and_changes_no_answer() {
        let (dir, store) = store();
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("d")).expect("mkdir");
        fs::write(src.join("d/f"), "data").expect("write");
        let path = store.add_source_path(&src, "src").expect("add");
        let fresh = LocalStore::open(store.root()).expect("open");
        assert!(!fresh.dir_listings.is_loaded());
        assert!(!fresh.source_hashes().is_loaded());
        fresh.read_source_caches();
        assert!(fresh.dir_listings.is_loaded());
        assert!(fresh.source_hashes().is_loaded());
        assert_eq!(fresh.add_source_path(&src, "src").expect("again"), path);
        // The thread's form: it ends, and a walk meanwhile gets the same answer.
        let third = LocalStore::open(store.root()).expect("open");
        third.read_ahead_source_caches();
        assert_eq!(third.add_source_path(&src, "src").expect("again"), path);
        // Once the walks are over (before an image build), the listings are not read again.
        let fourth = LocalStore::open(store.root()).expect("open");
        fourth.release_source_listings();
        fourth.read_source_caches();
        assert!(!fourth.dir_listings.is_loaded());
    }

    #[test]
    fn closure_of_invalid_path_fails() {
        let (_dir, store) = store();
        assert!(store.closure(&[out_path("nope")]).is_err());
    }
}
