//! A source tree (a path literal, `builtins.path`) as the list of its entries in NAR order,
//! read with one `lstat` per entry and one listing per changed directory (`dir_listings`
//! remembers the others). The same list gives the
//! tree's fingerprint (`source_cache`) and, when the tree changed, what an incremental import
//! compares with the last import of it (`source_import`).

use crate::base_dir::{lstat_via, BaseDir};
use crate::dir_listings::{DirListings, Names};
use crate::error::{io_err, Result};
use rustix::fs as rfs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What an entry is, as the NAR records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File {
        executable: bool,
    },
    Symlink,
    Directory,
    /// A device, fifo or socket: no NAR can hold it (importing fails, naming it).
    Other,
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeEntry {
    /// The path below the root: empty for the root itself, else `/a/b`.
    pub rel: Vec<u8>,
    pub kind: EntryKind,
    /// Mode, size, inode, device, modification and change times (seconds, nanoseconds).
    pub meta: EntryMeta,
}

/// The metadata that says whether an entry may have changed. Writing a file updates its change
/// time, which no user can set (only the clock, as root, or the disk offline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryMeta {
    pub mode: u32,
    pub size: u64,
    pub ino: u64,
    pub dev: u64,
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

impl EntryMeta {
    /// The metadata `lstat` (or `fstatat`) gave.
    // The field types of `stat` differ between architectures: some casts are no-ops here.
    #[allow(clippy::unnecessary_cast)]
    pub(crate) fn of_stat(stat: &rfs::Stat) -> Self {
        EntryMeta {
            mode: stat.st_mode as u32,
            size: stat.st_size as u64,
            ino: stat.st_ino as u64,
            dev: stat.st_dev as u64,
            mtime: (stat.st_mtime as i64, stat.st_mtime_nsec as i64),
            ctime: (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
        }
    }

    /// A directory's: its type alone (see [`walk_tree`]).
    pub(crate) fn directory() -> Self {
        EntryMeta {
            mode: 0o040_000,
            size: 0,
            ino: 0,
            dev: 0,
            mtime: (0, 0),
            ctime: (0, 0),
        }
    }

    /// The metadata of `path` now (not following a symlink).
    pub(crate) fn of_path(path: &Path) -> std::io::Result<Self> {
        Ok(Self::of_stat(&rfs::lstat(path)?))
    }

    /// The fields as numbers, in a fixed order (fingerprints and manifests).
    pub(crate) fn words(&self) -> [u64; 8] {
        [
            u64::from(self.mode),
            self.size,
            self.ino,
            self.dev,
            self.mtime.0 as u64,
            self.mtime.1 as u64,
            self.ctime.0 as u64,
            self.ctime.1 as u64,
        ]
    }

    pub(crate) fn from_words(w: [u64; 8]) -> Self {
        EntryMeta {
            mode: w[0] as u32,
            size: w[1],
            ino: w[2],
            dev: w[3],
            mtime: (w[4] as i64, w[5] as i64),
            ctime: (w[6] as i64, w[7] as i64),
        }
    }
}

impl TreeEntry {
    /// The host path of this entry under `root`.
    pub(crate) fn path_under(&self, root: &Path) -> PathBuf {
        if self.rel.is_empty() {
            root.to_path_buf()
        } else {
            let mut bytes = root.as_os_str().as_bytes().to_vec();
            bytes.extend_from_slice(&self.rel);
            PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(bytes))
        }
    }

    /// The entry's own name (empty for the root).
    pub(crate) fn name(&self) -> &[u8] {
        let start = self
            .rel
            .iter()
            .rposition(|b| *b == b'/')
            .map_or(0, |i| i + 1);
        &self.rel[start..]
    }

    /// Whether `self` is a directory above `other`.
    pub(crate) fn is_above(&self, other: &TreeEntry) -> bool {
        other.rel.len() > self.rel.len()
            && other.rel.starts_with(&self.rel)
            && other.rel[self.rel.len()] == b'/'
    }
}

/// The entries of the tree at `root` that `keep` keeps (the root always), in NAR order:
/// depth first, each directory's children sorted by the bytes of their names.
///
/// A directory's metadata is not part of the entries: its NAR is its name and its children,
/// which are entries of their own (an editor saving by rename changes a directory's times, not
/// its NAR), so its type says all that matters ([`EntryMeta::directory`]).
#[cfg(test)]
pub(crate) fn walk_tree(root: &Path, keep: &dyn Fn(&Path) -> bool) -> Result<Vec<TreeEntry>> {
    walk_tree_listed(root, keep, None)
}

/// Where remembered directory listings are kept, and the time of the walk (seconds since the
/// epoch), for [`walk_tree_listed`].
pub(crate) struct Listed<'a> {
    pub listings: &'a DirListings,
    pub log: &'a Path,
    pub now: i64,
    /// The directory to `lstat` the tree's entries relative to (see `base_dir`), if any.
    pub base: Option<&'a BaseDir>,
}

/// [`walk_tree`], taking the names of a directory whose `lstat` is that of a remembered
/// listing from `listed` instead of reading the directory, and remembering the listings it
/// reads (see `dir_listings`). An unchanged tree then costs one `lstat` per entry the filter
/// keeps.
pub(crate) fn walk_tree_listed(
    root: &Path,
    keep: &dyn Fn(&Path) -> bool,
    listed: Option<&Listed>,
) -> Result<Vec<TreeEntry>> {
    let base = listed.and_then(|l| l.base);
    let stat = lstat_via(base, root).map_err(|e| io_err(root)(e.into()))?;
    let entry = entry_of(Vec::new(), &stat);
    let is_dir = entry.kind == EntryKind::Directory;
    let mut out = vec![entry];
    if is_dir {
        walk_dir(
            root,
            &[],
            &EntryMeta::of_stat(&stat),
            keep,
            listed,
            &mut out,
        )?;
    }
    if let Some(listed) = listed {
        listed.listings.flush(listed.log);
    }
    Ok(out)
}

fn dir_flags() -> rfs::OFlags {
    rfs::OFlags::RDONLY | rfs::OFlags::DIRECTORY | rfs::OFlags::NOFOLLOW | rfs::OFlags::CLOEXEC
}

/// Adds the entries below the directory at `path` (`rel` below the root), whose `lstat` just
/// now gave `meta`.
fn walk_dir(
    path: &Path,
    rel: &[u8],
    meta: &EntryMeta,
    keep: &dyn Fn(&Path) -> bool,
    listed: Option<&Listed>,
    out: &mut Vec<TreeEntry>,
) -> Result<()> {
    let remembered = listed.and_then(|l| l.listings.names(l.log, path, meta));
    let names = match remembered {
        Some(names) => names,
        None => read_names(path, listed)?,
    };
    for name in names {
        let child = path.join(std::ffi::OsStr::from_bytes(&name));
        if !keep(&child) {
            continue;
        }
        let mut child_rel = rel.to_vec();
        child_rel.push(b'/');
        child_rel.extend_from_slice(&name);
        let stat =
            lstat_via(listed.and_then(|l| l.base), &child).map_err(|e| io_err(&child)(e.into()))?;
        let entry = entry_of(child_rel, &stat);
        let is_dir = entry.kind == EntryKind::Directory;
        // Only a directory needs its relative path past the push (for its children's).
        let child_rel = is_dir.then(|| entry.rel.clone());
        out.push(entry);
        if let Some(child_rel) = child_rel {
            walk_dir(
                &child,
                &child_rel,
                &EntryMeta::of_stat(&stat),
                keep,
                listed,
                out,
            )?;
        }
    }
    Ok(())
}

/// The sorted names of the directory at `path`, read from it; remembered in `listed` under
/// the metadata of the open directory taken before reading it, so that a change after that
/// moment shows as other metadata next time.
fn read_names(path: &Path, listed: Option<&Listed>) -> Result<Names> {
    let fd =
        rfs::open(path, dir_flags(), rfs::Mode::empty()).map_err(|e| io_err(path)(e.into()))?;
    let before = match listed {
        Some(_) => Some(rfs::fstat(&fd).map_err(|e| io_err(path)(e.into()))?),
        None => None,
    };
    let mut dir = rfs::Dir::new(fd).map_err(|e| io_err(path)(e.into()))?;
    let mut names: Names = Vec::new();
    while let Some(entry) = dir.read() {
        let entry = entry.map_err(|e| io_err(path)(e.into()))?;
        let name = entry.file_name().to_bytes();
        if name != b"." && name != b".." {
            names.push(name.to_vec());
        }
    }
    names.sort();
    if let (Some(l), Some(before)) = (listed, before) {
        l.listings
            .remember(l.log, path, &EntryMeta::of_stat(&before), &names, l.now);
    }
    Ok(names)
}

/// A directory, as the listing above it (or opening it) tells.
fn directory_entry(rel: Vec<u8>) -> TreeEntry {
    TreeEntry {
        rel,
        kind: EntryKind::Directory,
        meta: EntryMeta::directory(),
    }
}

fn entry_of(rel: Vec<u8>, stat: &rfs::Stat) -> TreeEntry {
    let meta = EntryMeta::of_stat(stat);
    // Directories are described alike whether they were listed or stat'ed.
    if rfs::FileType::from_raw_mode(meta.mode) == rfs::FileType::Directory {
        return directory_entry(rel);
    }
    let kind = match rfs::FileType::from_raw_mode(meta.mode) {
        rfs::FileType::RegularFile => EntryKind::File {
            executable: meta.mode & 0o100 != 0,
        },
        rfs::FileType::Symlink => EntryKind::Symlink,
        rfs::FileType::Directory => EntryKind::Directory,
        _ => EntryKind::Other,
    };
    TreeEntry { rel, kind, meta }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn entries_come_in_nar_order_with_the_filter_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("t");
        fs::create_dir_all(root.join("a-b")).expect("mkdir");
        fs::create_dir_all(root.join("a/c")).expect("mkdir");
        fs::write(root.join("a/c/f"), "f").expect("write");
        fs::write(root.join("a-b/g"), "g").expect("write");
        fs::write(root.join("skip"), "s").expect("write");
        std::os::unix::fs::symlink("a", root.join("l")).expect("symlink");
        let entries = walk_tree(&root, &|p| p.file_name().is_none_or(|n| n != "skip")).unwrap();
        let rels: Vec<&[u8]> = entries.iter().map(|e| e.rel.as_slice()).collect();
        let expected: Vec<&[u8]> = vec![b"", b"/a", b"/a/c", b"/a/c/f", b"/a-b", b"/a-b/g", b"/l"];
        assert_eq!(rels, expected);
        assert_eq!(entries[6].kind, EntryKind::Symlink);
        assert_eq!(entries[3].name(), b"f");
        assert!(entries[1].is_above(&entries[3]) && !entries[1].is_above(&entries[4]));
        assert!(entries[0].is_above(&entries[4]));
        assert_eq!(entries[3].path_under(&root), root.join("a/c/f"));
        let m = entries[3].meta;
        assert_eq!(EntryMeta::from_words(m.words()), m);
        // Directories carry their type only, listed or not; a file or symlink as the whole tree.
        assert_eq!(entries[0].meta, EntryMeta::directory());
        assert_eq!(entries[2].meta, EntryMeta::directory());
        let file = walk_tree(&root.join("a/c/f"), &|_| true).unwrap();
        assert_eq!(file.len(), 1);
        assert_eq!(file[0].kind, EntryKind::File { executable: false });
        assert_eq!(file[0].meta.size, 1);
        let link = walk_tree(&root.join("l"), &|_| true).unwrap();
        assert_eq!(link[0].kind, EntryKind::Symlink);
        assert!(walk_tree(&root.join("missing"), &|_| true).is_err());
    }

    /// Walks `root` with `listings` (trusting listings of any age: each change below waits
    /// for the file system's clock to move on), then checks that the remembered listings give
    /// what a walk without them gives after `change`.
    fn check_change(root: &Path, log: &Path, listings: &DirListings, change: &dyn Fn()) {
        let listed = Listed {
            listings,
            log,
            now: i64::MAX,
            base: None,
        };
        let before = walk_tree_listed(root, &|_| true, Some(&listed)).expect("walk");
        assert_eq!(before, walk_tree(root, &|_| true).expect("walk"));
        let meta = EntryMeta::of_path(root).expect("lstat");
        assert!(listings.names(log, root, &meta).is_some(), "remembered");
        // Longer than a tick of the clock that stamps file times.
        std::thread::sleep(std::time::Duration::from_millis(30));
        change();
        let after = walk_tree_listed(root, &|_| true, Some(&listed)).expect("walk");
        assert_eq!(after, walk_tree(root, &|_| true).expect("walk"));
        assert_ne!(after, before, "the change is seen");
    }

    #[test]
    fn remembered_listings_see_every_kind_of_change() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("t");
        for d in ["a", "b", "c", "d", "e", "f", "g/h"] {
            fs::create_dir_all(root.join(d)).expect("mkdir");
            fs::write(root.join(d).join("x"), "x").expect("write");
        }
        let log = dir.path().join("dirs.log");
        let listings = DirListings::default();
        let at = |p: &str| root.join(p);
        check_change(&root, &log, &listings, &|| {
            fs::write(at("a/x"), "y").expect("write")
        });
        check_change(&root, &log, &listings, &|| {
            fs::write(at("b/new"), "n").expect("write")
        });
        check_change(&root, &log, &listings, &|| {
            fs::rename(at("c/x"), at("c/z")).expect("rename")
        });
        check_change(&root, &log, &listings, &|| {
            fs::set_permissions(at("d/x"), fs::Permissions::from_mode(0o755)).expect("chmod")
        });
        check_change(&root, &log, &listings, &|| {
            fs::remove_file(at("e/x")).expect("rm");
            fs::create_dir(at("e/x")).expect("mkdir");
        });
        check_change(&root, &log, &listings, &|| {
            fs::remove_file(at("f/x")).expect("rm")
        });
        // Deep below, and a directory replaced by a file.
        check_change(&root, &log, &listings, &|| {
            fs::write(at("g/h/new"), "n").expect("write")
        });
        check_change(&root, &log, &listings, &|| {
            fs::remove_dir_all(at("g/h")).expect("rm");
            fs::write(at("g/h"), "file").expect("write");
        });
        // Another process reads what this one remembered.
        let again = DirListings::default();
        let meta = EntryMeta::of_path(&at("a")).expect("lstat");
        assert_eq!(
            again.names(&log, &at("a"), &meta),
            Some(vec![b"x".to_vec()])
        );
    }
}
