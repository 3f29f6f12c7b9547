//! Deterministic layer tars: all determinism in one header policy, so no host metadata can
//! slip into a layer through a path that forgot it.
//!
//! A layer is a set of [`LayerEntry`]s keyed by relative archive path (`nix/store/...`,
//! `bin/hello`), gathered from trees on disk or synthesized. [`write_tar`] emits them
//! sorted by path bytes — so parents come before children and `nix/`, `nix/store/` come first in
//! a store layer — each path once, with missing parent directories synthesized (mode 0755).
//! Every header is a ustar header filled field by field from the [`HeaderPolicy`] (fixed mtime,
//! uid, gid, uname, gname; no atime, ctime, xattrs or device numbers); host metadata other than
//! the file type, the mode bits chosen by [`ModePolicy`], sizes and symlink targets never reaches
//! the archive. Names longer than the ustar fields get a PAX extended header (`path`, `linkpath`,
//! and `size`/`uid`/`gid`/`uname`/`gname` when they do not fit). Files that are hard links of
//! each other on disk (same device and inode) within one layer are written once, as a regular
//! file at the first path in sorted order, and as tar hard links (`1`) at the others. Only the
//! customisation layer after `fakeRootCommands` takes owners from disk ([`ModePolicy::AsIsOwned`]),
//! and then writes numeric ids only (no user names of the host).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use tar::{Builder, EntryType, Header};

use crate::error::OciError;
use crate::joined_root::Visit;

/// Owner and time every entry of a layer gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderPolicy {
    pub mtime: u64,
    pub uid: u64,
    pub gid: u64,
    pub uname: String,
    pub gname: String,
}

/// How the mode bits of a tree on disk become the modes in the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModePolicy {
    /// Store contents, canonicalised as the Nix store does whatever the host umask was:
    /// directories 0555, files 0444 or 0555 when executable by the owner; set-id and sticky bits
    /// are kept.
    Store,
    /// The permission bits as they are on disk (`mode & 0o7777`), for the customisation root
    /// whose modes makes itself sets and extraCommands may change.
    AsIs,
    /// As [`ModePolicy::AsIs`], and the owner (uid, gid) as it is on disk: the customisation
    /// root after `fakeRootCommands` changed ownership.
    AsIsOwned,
}

/// What a layer entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    Directory,
    /// A regular file whose bytes are read from `source` when the tar is written.
    File {
        source: PathBuf,
        size: u64,
        /// `(device, inode)` when the file has other hard links on disk.
        link_id: Option<(u64, u64)>,
    },
    /// A regular file with its bytes in memory.
    Bytes(Vec<u8>),
    Symlink {
        target: Vec<u8>,
    },
}

/// One entry of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerEntry {
    /// Permission bits (`0o7777` at most); ignored for symlinks, which are always 0777.
    pub mode: u32,
    pub kind: EntryKind,
    /// `(uid, gid)` overriding the policy's owner (after `fakeRootCommands`).
    pub owner: Option<(u64, u64)>,
}

impl LayerEntry {
    /// An entry owned as the header policy says.
    pub fn new(mode: u32, kind: EntryKind) -> Self {
        LayerEntry {
            mode,
            kind,
            owner: None,
        }
    }
}

/// The entries of one layer, sorted by relative archive path (no leading `/`, no trailing `/`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerEntries {
    entries: BTreeMap<Vec<u8>, LayerEntry>,
}

/// Mode of directories makes synthesizes (`nix/`, `nix/store/`, missing parents).
pub const SYNTHESIZED_DIR_MODE: u32 = 0o755;

impl LayerEntries {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry. A directory already present is kept as it is (its first mode wins);
    /// any other repeated path is an error.
    pub fn insert(&mut self, path: &[u8], entry: LayerEntry) -> Result<(), OciError> {
        validate_archive_path(path)?;
        match self.entries.get(path) {
            Some(old) if old.kind == EntryKind::Directory && entry.kind == EntryKind::Directory => {
                Ok(())
            }
            Some(_) => Err(OciError::DuplicateEntry {
                path: String::from_utf8_lossy(path).into_owned(),
            }),
            None => {
                self.entries.insert(path.to_vec(), entry);
                Ok(())
            }
        }
    }

    /// Adds an entry unless its path is taken; returns whether it was added.
    pub fn insert_if_absent(&mut self, path: &[u8], entry: LayerEntry) -> Result<bool, OciError> {
        validate_archive_path(path)?;
        if self.entries.contains_key(path) {
            return Ok(false);
        }
        self.entries.insert(path.to_vec(), entry);
        Ok(true)
    }

    /// Adds a directory with a forced mode, replacing the mode of one already present.
    pub fn insert_dir_with_mode(&mut self, path: &[u8], mode: u32) -> Result<(), OciError> {
        validate_archive_path(path)?;
        match self.entries.get_mut(path) {
            Some(e) if e.kind == EntryKind::Directory => {
                e.mode = mode;
                Ok(())
            }
            Some(_) => Err(OciError::DuplicateEntry {
                path: String::from_utf8_lossy(path).into_owned(),
            }),
            None => {
                self.entries
                    .insert(path.to_vec(), LayerEntry::new(mode, EntryKind::Directory));
                Ok(())
            }
        }
    }

    /// Adds the tree at `disk` (a directory, file or symlink, not followed) under `archive`.
    /// With an empty `archive` only the children of the directory `disk` are added, at the top
    /// of the layer. Directory entries are read in byte order, so a tree yields the same entries
    /// whatever order the file system lists them in.
    pub fn add_tree(
        &mut self,
        disk: &Path,
        archive: &[u8],
        modes: ModePolicy,
    ) -> Result<(), OciError> {
        let meta = fs::symlink_metadata(disk).map_err(OciError::io(disk))?;
        if archive.is_empty() {
            if !meta.is_dir() {
                return Err(OciError::InvalidArchivePath {
                    path: format!("(root of {})", disk.display()),
                });
            }
        } else {
            let entry = entry_from_disk(disk, &meta, modes)?;
            let is_dir = entry.kind == EntryKind::Directory;
            self.insert(archive, entry)?;
            if !is_dir {
                return Ok(());
            }
        }
        let mut names: Vec<_> = fs::read_dir(disk)
            .map_err(OciError::io(disk))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()
            .map_err(OciError::io(disk))?;
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        for name in names {
            let mut child = archive.to_vec();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(name.as_bytes());
            self.add_tree(&disk.join(&name), &child, modes)?;
        }
        Ok(())
    }

    /// The entries in archive order.
    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Vec<u8>, &LayerEntry)> {
        self.entries.iter()
    }

    /// The entry at `path`, if any.
    pub fn get(&self, path: &[u8]) -> Option<&LayerEntry> {
        self.entries.get(path)
    }

    /// Only the entries whose paths are in `keep`.
    pub fn retain_paths(mut self, keep: &std::collections::BTreeSet<Vec<u8>>) -> LayerEntries {
        self.entries.retain(|path, _| keep.contains(path));
        self
    }

    /// The archive paths, in order.
    #[cfg(test)]
    pub(crate) fn paths(&self) -> impl Iterator<Item = &Vec<u8>> {
        self.entries.keys()
    }

    /// Moves in the entries of `other` whose paths are not taken (entries already here win).
    pub fn merge_missing(&mut self, mut other: LayerEntries) {
        // The smaller map goes into the larger one, so that a layer of only a customisation
        // root (tens of thousands of entries, into an empty map) moves no entry and never
        // holds two maps of them at once.
        if other.entries.len() > self.entries.len() {
            std::mem::swap(&mut self.entries, &mut other.entries);
            // `self` now holds the other's entries: the ones moved in win their paths.
            self.entries.extend(other.entries);
            return;
        }
        for (path, entry) in other.entries {
            self.entries.entry(path).or_insert(entry);
        }
    }

    /// The number of entries and the bytes of file content, for progress reports.
    pub fn size_hint(&self) -> (usize, u64) {
        let bytes = self
            .entries
            .values()
            .map(|e| match &e.kind {
                EntryKind::File { size, .. } => *size,
                EntryKind::Bytes(b) => b.len() as u64,
                _ => 0,
            })
            .sum();
        (self.entries.len(), bytes)
    }

    /// Feeds everything that decides the tar bytes of these entries into `hasher` (paths, kinds,
    /// modes, owners, symlink targets, hard-link groups, and file contents), except the
    /// contents of files under one of `immutable_prefixes` (store paths, whose name and NAR
    /// hash the caller hashes instead): the layer cache key.
    pub fn fingerprint(
        &self,
        immutable_prefixes: &[Vec<u8>],
        hasher: &mut impl Write,
    ) -> Result<(), OciError> {
        let mut fingerprint = Fingerprint::new(immutable_prefixes);
        for (path, entry) in &self.entries {
            fingerprint.add(path, entry, hasher)?;
        }
        Ok(())
    }

    /// The parent directories no entry stands for (mode 0755), which the tar writers add.
    fn missing_parents(&self) -> BTreeMap<Vec<u8>, LayerEntry> {
        let mut missing = BTreeMap::new();
        for path in self.entries.keys() {
            let mut p = path.as_slice();
            while let Some(i) = p.iter().rposition(|&c| c == b'/') {
                p = &p[..i];
                if self.entries.contains_key(p) || missing.contains_key(p) {
                    break;
                }
                missing.insert(
                    p.to_vec(),
                    LayerEntry::new(SYNTHESIZED_DIR_MODE, EntryKind::Directory),
                );
            }
        }
        missing
    }

    /// Every entry with the missing parents, sorted by path, without copying the entries: a
    /// layer of many files is not held twice while it is written.
    fn with_missing_parents<'a>(
        &'a self,
        missing: &'a BTreeMap<Vec<u8>, LayerEntry>,
    ) -> Vec<(&'a Vec<u8>, &'a LayerEntry)> {
        let mut all: Vec<(&Vec<u8>, &LayerEntry)> =
            self.entries.iter().chain(missing.iter()).collect();
        // Both maps are sorted and disjoint; one sort of the two runs merges them.
        all.sort_by(|a, b| a.0.cmp(b.0));
        all
    }
}

/// The layer cache key's record of entries given one at a time in archive order (see
/// [`LayerEntries::fingerprint`]), so that entries walked without being listed are keyed as
/// the same entries listed would be.
pub(crate) struct Fingerprint<'p> {
    immutable_prefixes: &'p [Vec<u8>],
    /// The group number of each multiply-linked file, in order of first appearance.
    links: BTreeMap<(u64, u64), usize>,
}

impl<'p> Fingerprint<'p> {
    pub(crate) fn new(immutable_prefixes: &'p [Vec<u8>]) -> Self {
        Fingerprint {
            immutable_prefixes,
            links: BTreeMap::new(),
        }
    }

    /// Feeds the entry at `path` into `hasher`.
    pub(crate) fn add(
        &mut self,
        path: &[u8],
        entry: &LayerEntry,
        hasher: &mut impl Write,
    ) -> Result<(), OciError> {
        let io = |p: &Path| OciError::io(p.to_path_buf());
        let mut rec = Vec::with_capacity(path.len() + 64);
        rec.extend_from_slice(&(path.len() as u64).to_le_bytes());
        rec.extend_from_slice(path);
        rec.extend_from_slice(&entry.mode.to_le_bytes());
        if let Some((u, g)) = entry.owner {
            rec.extend_from_slice(&u.to_le_bytes());
            rec.extend_from_slice(&g.to_le_bytes());
        }
        let mut content: Option<&Path> = None;
        match &entry.kind {
            EntryKind::Directory => rec.push(b'd'),
            EntryKind::Symlink { target } => {
                rec.push(b'l');
                rec.extend_from_slice(&(target.len() as u64).to_le_bytes());
                rec.extend_from_slice(target);
            }
            EntryKind::Bytes(b) => {
                rec.push(b'b');
                rec.extend_from_slice(&(b.len() as u64).to_le_bytes());
                rec.extend_from_slice(b);
            }
            EntryKind::File {
                source,
                size,
                link_id,
            } => {
                rec.push(b'f');
                rec.extend_from_slice(&size.to_le_bytes());
                let group = link_id.map(|id| {
                    let n = self.links.len();
                    *self.links.entry(id).or_insert(n)
                });
                rec.extend_from_slice(&group.map_or(u64::MAX, |g| g as u64).to_le_bytes());
                let immutable = self
                    .immutable_prefixes
                    .iter()
                    .any(|p| path.starts_with(p) && path.get(p.len()).is_none_or(|&c| c == b'/'));
                if !immutable {
                    content = Some(source);
                }
            }
        }
        hasher.write_all(&rec).map_err(io(Path::new("<hash>")))?;
        if let Some(source) = content {
            let mut f = File::open(source).map_err(io(source))?;
            io::copy(&mut f, hasher).map_err(io(source))?;
        }
        Ok(())
    }
}

fn validate_archive_path(path: &[u8]) -> Result<(), OciError> {
    let bad = path.is_empty()
        || path.contains(&0)
        || path
            .split(|&c| c == b'/')
            .any(|c| c.is_empty() || c == b"." || c == b"..");
    if bad {
        return Err(OciError::InvalidArchivePath {
            path: String::from_utf8_lossy(path).into_owned(),
        });
    }
    Ok(())
}

pub(crate) fn entry_from_disk(
    disk: &Path,
    meta: &fs::Metadata,
    modes: ModePolicy,
) -> Result<LayerEntry, OciError> {
    use std::os::unix::fs::MetadataExt;
    let ft = meta.file_type();
    let bits = meta.permissions().mode() & 0o7777;
    // Owners as root scripts left them; makes' own ids (uid 0 inside the user namespace of an
    // unprivileged run) are root.
    let owner = (modes == ModePolicy::AsIsOwned).then(|| {
        let own = |id: u32, mine: u32| if id == mine { 0 } else { u64::from(id) };
        (
            own(meta.uid(), rustix::process::geteuid().as_raw()),
            own(meta.gid(), rustix::process::getegid().as_raw()),
        )
    });
    let kind = if ft.is_symlink() {
        let target = fs::read_link(disk).map_err(OciError::io(disk))?;
        EntryKind::Symlink {
            target: target.as_os_str().as_bytes().to_vec(),
        }
    } else if ft.is_dir() {
        EntryKind::Directory
    } else if ft.is_file() {
        EntryKind::File {
            source: disk.to_path_buf(),
            size: meta.len(),
            link_id: (meta.nlink() > 1).then(|| (meta.dev(), meta.ino())),
        }
    } else {
        return Err(OciError::UnsupportedFileType {
            path: disk.to_path_buf(),
        });
    };
    let mode = match (&kind, modes) {
        (EntryKind::Symlink { .. }, _) => 0o777,
        (_, ModePolicy::AsIs | ModePolicy::AsIsOwned) => bits,
        (EntryKind::Directory, ModePolicy::Store) => 0o555,
        (_, ModePolicy::Store) => {
            let exec = if bits & 0o100 != 0 { 0o111 } else { 0 };
            0o444 | exec | (bits & 0o7000)
        }
    };
    Ok(LayerEntry { mode, kind, owner })
}

/// ustar field limits.
const NAME_LEN: usize = 100;
const OWNER_NAME_LEN: usize = 32;
const MAX_OCTAL_7: u64 = 0o7777777;
const MAX_OCTAL_11: u64 = 0o77777777777;

/// Where [`write_tar`] puts a tar's bytes: a writer that may copy a file's contents its own way
/// (the image archive has the kernel copy its blobs).
pub(crate) trait TarSink: Write {
    /// Appends the first `size` bytes of `file`, fewer if it is shorter; returns how many.
    fn append_file(&mut self, file: &File, size: u64) -> io::Result<u64>;
}

/// Any writer as a [`TarSink`], which copies files through a buffer. Only tests write tars into
/// plain writers: layers go into [`crate::layer_writer`]'s chunks, which files are read into
/// directly, and the image archive has the kernel copy its blobs.
#[cfg(test)]
pub(crate) struct ReadingSink<W> {
    out: W,
}

/// `out` as a [`TarSink`] that reads files itself.
#[cfg(test)]
pub(crate) fn reading_sink<W: Write>(out: W) -> ReadingSink<W> {
    ReadingSink { out }
}

#[cfg(test)]
impl<W> ReadingSink<W> {
    pub(crate) fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
impl<W: Write> Write for ReadingSink<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.out.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
impl<W: Write> TarSink for ReadingSink<W> {
    fn append_file(&mut self, file: &File, size: u64) -> io::Result<u64> {
        io::copy(&mut io::Read::take(file, size), &mut self.out)
    }
}

/// Writes `entries` as an uncompressed tar to `out` (missing parents are synthesized first) and
/// returns `out`.
#[cfg(test)]
pub fn write_layer_tar<W: Write>(
    entries: &LayerEntries,
    policy: &HeaderPolicy,
    out: W,
) -> Result<W, OciError> {
    Ok(write_tar(entries, policy, reading_sink(out))?.out)
}

/// Writes `entries` as an uncompressed tar into `out` (missing parents are synthesized first)
/// and returns `out`.
pub(crate) fn write_tar<S: TarSink>(
    entries: &LayerEntries,
    policy: &HeaderPolicy,
    out: S,
) -> Result<S, OciError> {
    write_tar_merged(entries, |_| Ok(()), policy, out)
}

/// Writes `entries` (missing parents synthesized) merged with the entries `walk` gives its
/// visit (each once, in archive order, with their parents) as an uncompressed tar into `out`,
/// and returns `out`. An entry of `entries` wins a path both have.
pub(crate) fn write_tar_merged<S: TarSink>(
    entries: &LayerEntries,
    walk: impl FnOnce(&mut Visit<'_>) -> Result<(), OciError>,
    policy: &HeaderPolicy,
    out: S,
) -> Result<S, OciError> {
    let missing = entries.missing_parents();
    let listed = entries.with_missing_parents(&missing);
    let mut tar = TarStream::new(out, policy);
    let mut next = 0;
    walk(&mut |path, entry| {
        while let Some((listed_path, listed_entry)) = listed.get(next) {
            if listed_path.as_slice() >= path {
                break;
            }
            tar.append(listed_path, listed_entry, None)?;
            next += 1;
        }
        match listed.get(next) {
            // Written when the walk passes it, or after the walk.
            Some((listed_path, _)) if listed_path.as_slice() == path => Ok(()),
            _ => tar.append(path, entry, None),
        }
    })?;
    for (path, entry) in &listed[next..] {
        tar.append(path, entry, None)?;
    }
    tar.finish()
}

/// A tar being written: its builder, and the first archive path of each multiply-linked file
/// written, which the file's other paths link to.
pub(crate) struct TarStream<'p, S: TarSink> {
    builder: Builder<S>,
    policy: &'p HeaderPolicy,
    first_link: BTreeMap<(u64, u64), Vec<u8>>,
}

impl<'p, S: TarSink> TarStream<'p, S> {
    pub(crate) fn new(out: S, policy: &'p HeaderPolicy) -> Self {
        TarStream {
            builder: Builder::new(out),
            policy,
            first_link: BTreeMap::new(),
        }
    }

    /// Appends the entry at `path`: a hard link to the first path of its file when it has
    /// one. A file's contents are read from `opened` when the caller has it open already.
    pub(crate) fn append(
        &mut self,
        path: &[u8],
        entry: &LayerEntry,
        opened: Option<&File>,
    ) -> Result<(), OciError> {
        if let EntryKind::File {
            link_id: Some(id), ..
        } = &entry.kind
        {
            match self.first_link.entry(*id) {
                std::collections::btree_map::Entry::Occupied(first) => {
                    let first = Some(first.get().as_slice());
                    return append_owned_entry(
                        &mut self.builder,
                        path,
                        entry,
                        self.policy,
                        first,
                        None,
                    );
                }
                std::collections::btree_map::Entry::Vacant(first) => {
                    first.insert(path.to_vec());
                }
            }
        }
        append_owned_entry(&mut self.builder, path, entry, self.policy, None, opened)
    }

    /// The sink, once the tar's end is written.
    pub(crate) fn finish(self) -> Result<S, OciError> {
        self.builder
            .into_inner()
            .map_err(OciError::io("<layer tar stream>"))
    }
}

/// Appends one entry, owned as the policy says or as the entry says. The contents of a file
/// entry are read from `opened` when the caller has the file open already, else from its
/// source path.
pub(crate) fn append_owned_entry<S: TarSink>(
    builder: &mut Builder<S>,
    path: &[u8],
    entry: &LayerEntry,
    policy: &HeaderPolicy,
    link_to: Option<&[u8]>,
    opened: Option<&File>,
) -> Result<(), OciError> {
    match entry.owner {
        None => append_entry(builder, path, entry, policy, link_to, opened),
        Some((uid, gid)) => {
            let owned = HeaderPolicy {
                mtime: policy.mtime,
                uid,
                gid,
                uname: if uid == 0 {
                    "root".into()
                } else {
                    String::new()
                },
                gname: if gid == 0 {
                    "root".into()
                } else {
                    String::new()
                },
            };
            append_entry(builder, path, entry, &owned, link_to, opened)
        }
    }
}

fn append_entry<S: TarSink>(
    builder: &mut Builder<S>,
    path: &[u8],
    entry: &LayerEntry,
    policy: &HeaderPolicy,
    hard_link_to: Option<&[u8]>,
    opened: Option<&File>,
) -> Result<(), OciError> {
    let stream_err = || PathBuf::from(String::from_utf8_lossy(path).into_owned());
    let mut name = path.to_vec();
    let (entry_type, size, mode, link): (EntryType, u64, u32, &[u8]) = match &entry.kind {
        EntryKind::Directory => {
            name.push(b'/');
            (EntryType::Directory, 0, entry.mode, &[])
        }
        EntryKind::File { .. } if hard_link_to.is_some() => (
            EntryType::Link,
            0,
            entry.mode,
            hard_link_to.unwrap_or_default(),
        ),
        EntryKind::File { size, .. } => (EntryType::Regular, *size, entry.mode, &[]),
        EntryKind::Bytes(b) => (EntryType::Regular, b.len() as u64, entry.mode, &[]),
        EntryKind::Symlink { target } => (EntryType::Symlink, 0, 0o777, target.as_slice()),
    };

    let pax = pax_fields(&name, link, size, policy);
    if !pax.is_empty() {
        let data = pax_records(&pax);
        let mut h = base_header(policy);
        let mut pax_name = b"PaxHeaders.0/".to_vec();
        let base = name
            .strip_suffix(b"/")
            .unwrap_or(&name)
            .rsplit(|&c| c == b'/')
            .next()
            .unwrap_or(&[]);
        pax_name.extend_from_slice(base);
        set_bytes(&mut h.as_old_mut().name, &pax_name);
        h.set_entry_type(EntryType::XHeader);
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_cksum();
        builder
            .append(&h, data.as_slice())
            .map_err(OciError::io(stream_err()))?;
    }

    let mut h = base_header(policy);
    set_bytes(&mut h.as_old_mut().name, &name);
    set_bytes(&mut h.as_old_mut().linkname, link);
    h.set_entry_type(entry_type);
    h.set_mode(mode);
    h.set_size(size);
    h.set_cksum();
    match &entry.kind {
        EntryKind::File { .. } if hard_link_to.is_some() => builder
            .append(&h, io::empty())
            .map_err(OciError::io(stream_err()))?,
        EntryKind::File { source, size, .. } => {
            let own;
            let file = match opened {
                Some(file) => file,
                None => {
                    own = File::open(source).map_err(OciError::io(source))?;
                    &own
                }
            };
            // As `tar::Builder::append` writes an entry: header, contents, zeros to the next
            // block; the contents are the sink's to copy.
            let out = builder.get_mut();
            out.write_all(h.as_bytes()).map_err(OciError::io(source))?;
            let count = out.append_file(file, *size).map_err(OciError::io(source))?;
            let padding = (BLOCK - count % BLOCK) % BLOCK;
            out.write_all(&[0; BLOCK as usize][..padding as usize])
                .map_err(OciError::io(source))?;
            // A file that grew is cut at its planned size; one that shrank gives fewer bytes:
            // either way the tar would lie about the file, so stop.
            let actual = file.metadata().map_err(OciError::io(source))?.len();
            if count != *size || actual != *size {
                return Err(OciError::FileChanged {
                    path: source.clone(),
                    expected: *size,
                    found: if count != *size { count } else { actual },
                });
            }
        }
        EntryKind::Bytes(b) => builder
            .append(&h, b.as_slice())
            .map_err(OciError::io(stream_err()))?,
        _ => builder
            .append(&h, io::empty())
            .map_err(OciError::io(stream_err()))?,
    }
    Ok(())
}

/// The pax extended header records an entry needs: whatever does not fit the ustar header.
fn pax_fields(
    name: &[u8],
    link: &[u8],
    size: u64,
    policy: &HeaderPolicy,
) -> Vec<(&'static str, Vec<u8>)> {
    let mut pax: Vec<(&str, Vec<u8>)> = Vec::new();
    if name.len() > NAME_LEN {
        pax.push(("path", name.to_vec()));
    }
    if link.len() > NAME_LEN {
        pax.push(("linkpath", link.to_vec()));
    }
    if size > MAX_OCTAL_11 {
        pax.push(("size", size.to_string().into_bytes()));
    }
    if policy.uid > MAX_OCTAL_7 {
        pax.push(("uid", policy.uid.to_string().into_bytes()));
    }
    if policy.gid > MAX_OCTAL_7 {
        pax.push(("gid", policy.gid.to_string().into_bytes()));
    }
    if policy.uname.len() > OWNER_NAME_LEN {
        pax.push(("uname", policy.uname.as_bytes().to_vec()));
    }
    if policy.gname.len() > OWNER_NAME_LEN {
        pax.push(("gname", policy.gname.as_bytes().to_vec()));
    }
    pax
}

/// The byte length [`write_tar`] gives `entries` whose files all have their stated
/// sizes and none of which is a hard link (the entries of an image archive), known before
/// writing so that the archive can be hashed as it is written. Entries with owners of their
/// own are not foreseen (`None`).
pub fn planned_tar_size(entries: &LayerEntries, policy: &HeaderPolicy) -> Option<u64> {
    let padded = |n: u64| n.div_ceil(BLOCK) * BLOCK;
    let missing = entries.missing_parents();
    let mut total = 0u64;
    for (path, entry) in entries.with_missing_parents(&missing) {
        if entry.owner.is_some() {
            return None;
        }
        let mut name = path.clone();
        let (size, link): (u64, &[u8]) = match &entry.kind {
            EntryKind::Directory => {
                name.push(b'/');
                (0, &[])
            }
            EntryKind::File {
                link_id: Some(_), ..
            } => return None,
            EntryKind::File { size, .. } => (*size, &[]),
            EntryKind::Bytes(b) => (b.len() as u64, &[]),
            EntryKind::Symlink { target } => (0, target.as_slice()),
        };
        let pax = pax_fields(&name, link, size, policy);
        if !pax.is_empty() {
            total += BLOCK + padded(pax_records(&pax).len() as u64);
        }
        total += BLOCK + padded(size);
    }
    // The two zero blocks that end a tar.
    Some(total + 2 * BLOCK)
}

/// A ustar header with the policy's owner and time, zero device numbers, everything else empty.
fn base_header(policy: &HeaderPolicy) -> Header {
    let mut h = Header::new_ustar();
    h.set_mtime(policy.mtime);
    h.set_uid(policy.uid.min(MAX_OCTAL_7));
    h.set_gid(policy.gid.min(MAX_OCTAL_7));
    if let Some(u) = h.as_ustar_mut() {
        set_bytes(&mut u.uname, policy.uname.as_bytes());
        set_bytes(&mut u.gname, policy.gname.as_bytes());
        set_bytes(&mut u.dev_major, b"0000000");
        set_bytes(&mut u.dev_minor, b"0000000");
    }
    h
}

/// Copies `bytes` into a NUL-padded header field, truncated to the field (a PAX record carries
/// the full value when it does not fit).
fn set_bytes(field: &mut [u8], bytes: &[u8]) {
    field.fill(0);
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
}

/// PAX extended header records: `"<len> <key>=<value>\n"`, where `<len>` counts the whole
/// record including its own digits.
fn pax_records(records: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (key, value) in records {
        let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
        let mut len = rest + 1;
        while len != rest + len.to_string().len() {
            len = rest + len.to_string().len();
        }
        out.extend_from_slice(format!("{len} {key}=").as_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    out
}

/// The tar block size.
const BLOCK: u64 = 512;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::blob::{Digest, HashingWriter};
    use std::os::unix::fs::symlink;

    pub(crate) fn policy() -> HeaderPolicy {
        HeaderPolicy {
            mtime: 1,
            uid: 0,
            gid: 0,
            uname: "root".into(),
            gname: "root".into(),
        }
    }

    fn set_mode(p: &Path, mode: u32) {
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// A small store-like tree; `variant` changes host modes (as a different umask would),
    /// creation order and mtimes, but not contents.
    fn make_tree(root: &Path, variant: bool) {
        let long = "d".repeat(120);
        let dirs = ["bin", "lib", "share/doc", &format!("share/{long}")];
        let mut dirs: Vec<&str> = dirs.to_vec();
        if variant {
            dirs.reverse();
        }
        for d in dirs {
            fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        let files: &[(&str, &[u8], bool)] = &[
            ("bin/hello", b"#!/bin/sh\necho hello\n", true),
            ("lib/libz.so.1", b"\x7fELF fake", false),
            ("share/doc/README", b"read me\n", false),
        ];
        for (p, data, exec) in files {
            let path = root.join(p);
            fs::write(&path, data).expect("write");
            let (x, r) = if variant {
                (0o700, 0o600)
            } else {
                (0o775, 0o664)
            };
            set_mode(&path, if *exec { x } else { r });
        }
        fs::write(root.join(format!("share/{long}/f")), b"x").expect("write");
        symlink("libz.so.1", root.join("lib/libz.so")).expect("symlink");
        symlink(
            "/nix/store/".to_string() + &"t".repeat(150),
            root.join("lib/long"),
        )
        .expect("ln");
        for d in ["bin", "lib", "share", "share/doc"] {
            set_mode(&root.join(d), if variant { 0o700 } else { 0o775 });
        }
        if variant {
            // A different host mtime for one file: rewrite it a little later.
            std::thread::sleep(std::time::Duration::from_millis(20));
            let p = root.join("share/doc/README");
            let data = fs::read(&p).expect("read");
            fs::write(&p, &data).expect("rewrite");
        }
    }

    fn layer_bytes(root: &Path) -> Vec<u8> {
        let mut entries = LayerEntries::new();
        entries
            .insert_dir_with_mode(b"nix", SYNTHESIZED_DIR_MODE)
            .expect("nix");
        entries
            .insert_dir_with_mode(b"nix/store", SYNTHESIZED_DIR_MODE)
            .expect("store");
        entries
            .add_tree(root, b"nix/store/abc-hello", ModePolicy::Store)
            .expect("add tree");
        write_layer_tar(&entries, &policy(), Vec::new()).expect("write tar")
    }

    fn list(tar_bytes: &[u8]) -> Vec<(String, EntryType, u32, u64, u64, Option<String>)> {
        let mut ar = tar::Archive::new(tar_bytes);
        ar.entries()
            .expect("entries")
            .map(|e| {
                let e = e.expect("entry");
                let h = e.header();
                (
                    e.path()
                        .expect("path")
                        .to_string_lossy()
                        .trim_end_matches('/')
                        .to_string(),
                    h.entry_type(),
                    h.mode().expect("mode"),
                    h.mtime().expect("mtime"),
                    h.uid().expect("uid"),
                    e.link_name()
                        .expect("link")
                        .map(|l| l.to_string_lossy().into_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn same_tree_with_different_host_metadata_gives_identical_bytes() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        make_tree(a.path(), false);
        make_tree(b.path(), true);
        let (ta, tb) = (layer_bytes(a.path()), layer_bytes(b.path()));
        assert_eq!(Digest::of(&ta), Digest::of(&tb));
        assert_eq!(ta, tb);
    }

    #[test]
    fn entries_are_sorted_parents_first_without_duplicates() {
        let a = tempfile::tempdir().expect("tempdir");
        make_tree(a.path(), false);
        let listing = list(&layer_bytes(a.path()));
        let names: Vec<&str> = listing.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(&names[..3], ["nix", "nix/store", "nix/store/abc-hello"]);
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "sorted by bytes, no duplicates");
        for (i, n) in names.iter().enumerate() {
            if let Some((parent, _)) = n.rsplit_once('/') {
                let at = names.iter().position(|m| *m == parent).expect("parent");
                assert!(at < i, "{parent} before {n}");
            }
        }
        let get = |n: &str| {
            listing
                .iter()
                .find(|e| e.0 == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        assert_eq!(get("nix").2, 0o755);
        assert_eq!(get("nix/store").2, 0o755);
        assert_eq!(get("nix/store/abc-hello/bin").2, 0o555);
        assert_eq!(get("nix/store/abc-hello/bin/hello").2, 0o555);
        assert_eq!(get("nix/store/abc-hello/lib/libz.so.1").2, 0o444);
        let link = get("nix/store/abc-hello/lib/libz.so");
        assert_eq!(link.1, EntryType::Symlink);
        assert_eq!(link.5.as_deref(), Some("libz.so.1"));
        let long_link = get("nix/store/abc-hello/lib/long");
        assert_eq!(long_link.5.as_deref().map(str::len), Some(161));
        let long_dir = format!("nix/store/abc-hello/share/{}/f", "d".repeat(120));
        assert_eq!(get(&long_dir).1, EntryType::Regular);
        assert!(listing.iter().all(|e| e.3 == 1 && e.4 == 0));
    }

    #[test]
    fn duplicates_are_rejected_and_dirs_merge() {
        let mut e = LayerEntries::new();
        let file = LayerEntry::new(0o644, EntryKind::Bytes(b"x".to_vec()));
        let dir = LayerEntry::new(0o700, EntryKind::Directory);
        e.insert(b"a/b", file.clone()).expect("first");
        assert!(e.insert(b"a/b", file.clone()).is_err());
        e.insert(b"d", dir.clone()).expect("dir");
        e.insert(b"d", dir.clone()).expect("same dir again merges");
        assert!(!e.insert_if_absent(b"d", file.clone()).expect("valid"));
        for bad in [&b"/abs"[..], b"a//b", b"a/../b", b"", b"./x"] {
            assert!(e.insert(bad, file.clone()).is_err(), "{bad:?}");
        }
        let bytes = write_layer_tar(&e, &policy(), Vec::new()).expect("tar");
        let names: Vec<String> = list(&bytes).into_iter().map(|e| e.0).collect();
        assert_eq!(names, ["a", "a/b", "d"], "parent a synthesized once");
    }

    #[test]
    fn merged_entries_keep_the_ones_already_there_whichever_map_is_larger() {
        let entry = |b: &[u8]| LayerEntry::new(0o644, EntryKind::Bytes(b.to_vec()));
        let of = |pairs: &[(&[u8], &[u8])]| {
            let mut e = LayerEntries::new();
            for (path, bytes) in pairs {
                e.insert(path, entry(bytes)).expect("insert");
            }
            e
        };
        let small = || of(&[(b"b", b"mine")]);
        let large = || of(&[(b"a", b"theirs"), (b"b", b"theirs"), (b"c", b"theirs")]);
        let want = |mine: &[u8], theirs: &[u8]| of(&[(b"a", theirs), (b"b", mine), (b"c", theirs)]);
        // The smaller map merged into the larger, and the larger into the smaller.
        let mut e = large();
        e.merge_missing(small());
        assert_eq!(e, want(b"theirs", b"theirs"));
        let mut e = small();
        e.merge_missing(large());
        assert_eq!(e, want(b"mine", b"theirs"));
        let mut e = LayerEntries::new();
        e.merge_missing(large());
        assert_eq!(e, large());
    }

    #[test]
    fn a_walk_merged_into_listed_entries_writes_the_tar_of_both_merged() {
        let a = tempfile::tempdir().expect("tempdir");
        make_tree(a.path(), false);
        let linked = a.path().join("linked");
        fs::write(&linked, b"twice").expect("write");
        fs::hard_link(&linked, a.path().join("linked-too")).expect("hard link");
        let mut listed = LayerEntries::new();
        listed
            .add_tree(a.path(), b"nix/store/abc-hello", ModePolicy::Store)
            .expect("tree");
        let dir = || LayerEntry::new(0o755, EntryKind::Directory);
        let link = |t: &[u8]| LayerEntry::new(0o777, EntryKind::Symlink { target: t.to_vec() });
        // Paths before, between and after the listed ones, a parent the listed entries lack
        // (`nix`), and a path both have (the listed entry wins it).
        let mut walked = LayerEntries::new();
        for (path, entry) in [
            (&b"bin"[..], dir()),
            (b"bin/hello", link(b"/nix/store/abc-hello/bin/hello")),
            (b"nix", dir()),
            (b"nix/store", dir()),
            (b"nix/store/abc-hello", dir()),
            (b"nix/store/abc-hello/bin", dir()),
            (b"nix/store/abc-hello/bin/hello", link(b"elsewhere")),
            (b"nix/store/abc-hello/bin/zz", link(b"zz")),
            (b"nix/var", dir()),
            (b"share", dir()),
        ] {
            walked.insert(path, entry).expect("insert");
        }
        let merged = write_tar_merged(
            &listed,
            |visit| walked.iter().try_for_each(|(p, e)| visit(p, e)),
            &policy(),
            reading_sink(Vec::new()),
        )
        .expect("merged")
        .into_inner();
        let mut both = listed.clone();
        both.merge_missing(walked.clone());
        let want = write_layer_tar(&both, &policy(), Vec::new()).expect("tar");
        assert_eq!(list(&merged), list(&want));
        assert_eq!(merged, want);
        let hard_links = list(&merged)
            .into_iter()
            .filter(|e| e.1 == EntryType::Link)
            .count();
        assert_eq!(hard_links, 1, "one of the two linked files is a hard link");
    }

    #[test]
    fn diff_id_is_sha256_of_the_uncompressed_tar() {
        let a = tempfile::tempdir().expect("tempdir");
        make_tree(a.path(), false);
        let mut entries = LayerEntries::new();
        entries
            .add_tree(a.path(), b"nix/store/abc-hello", ModePolicy::Store)
            .expect("tree");
        let hashed =
            write_layer_tar(&entries, &policy(), HashingWriter::new(Vec::new())).expect("write");
        let (bytes, digest, len) = hashed.finish();
        assert_eq!(digest, Digest::of(&bytes));
        assert_eq!(len, bytes.len() as u64);
        assert_eq!(len % 512, 0);
    }

    #[test]
    fn planned_tar_size_is_the_length_written() {
        let a = tempfile::tempdir().expect("tempdir");
        make_tree(a.path(), false);
        let big = a.path().join("big");
        fs::write(&big, vec![7u8; 3 * 512 + 5]).expect("write");
        let mut entries = LayerEntries::new();
        // Long names, long symlink targets and nested missing parents: pax records.
        entries
            .add_tree(a.path(), b"nix/store/abc-hello", ModePolicy::Store)
            .expect("tree");
        let long_name = format!("blobs/{}/big", "x".repeat(140));
        entries
            .insert(
                long_name.as_bytes(),
                LayerEntry::new(
                    0o644,
                    EntryKind::File {
                        source: big.clone(),
                        size: 3 * 512 + 5,
                        link_id: None,
                    },
                ),
            )
            .expect("insert");
        entries
            .insert(
                b"index.json",
                LayerEntry::new(0o644, EntryKind::Bytes(b"{}".to_vec())),
            )
            .expect("insert");
        let mut long_owner = policy();
        long_owner.uname = "u".repeat(40);
        for policy in [policy(), long_owner] {
            let planned = planned_tar_size(&entries, &policy).expect("plannable");
            let written = write_layer_tar(&entries, &policy, Vec::new()).expect("write");
            assert_eq!(planned, written.len() as u64);
        }
    }

    #[test]
    fn pax_record_lengths_count_themselves() {
        let recs = pax_records(&[("path", vec![b'a'; 5]), ("path", vec![b'a'; 93])]);
        let text = String::from_utf8(recs).expect("ascii");
        let mut rest = text.as_str();
        while !rest.is_empty() {
            let (len, _) = rest.split_once(' ').expect("len");
            let len: usize = len.parse().expect("number");
            assert!(rest[..len].ends_with('\n'));
            rest = &rest[len..];
        }
        assert!(text.starts_with("14 path=aaaaa\n"));
        assert!(text.contains("\n103 path="));
    }

    #[test]
    fn changed_file_is_an_error() {
        let a = tempfile::tempdir().expect("tempdir");
        let f = a.path().join("f");
        fs::write(&f, b"abc").expect("write");
        let mut e = LayerEntries::new();
        e.add_tree(&f, b"f", ModePolicy::AsIs).expect("add");
        fs::write(&f, b"abcdef").expect("grow");
        assert!(matches!(
            write_layer_tar(&e, &policy(), Vec::new()),
            Err(OciError::FileChanged { .. })
        ));
    }
}
