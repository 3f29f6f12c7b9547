//! A handle on the directory that holds the source trees walked one after another (a project's
//! `parts/` holding thousands of path literals), so that their entries are `lstat`ed relative
//! to it: the kernel then resolves only the components below it, not the whole absolute path
//! again for every entry (about a quarter of an `lstat`'s cost for 5,000 literals three levels
//! below `/tmp`).
//!
//! The handle is opened only when a second tree in a row sits in the same directory (a lone
//! literal would pay an `open` for nothing), and only for plain absolute paths (no `.` or `..`
//! component, which a handle would resolve otherwise than the kernel resolves the whole path).
//! An entry below the handle's directory is the entry its absolute path names as long as no
//! directory above it is renamed or replaced meanwhile; the handle lives only until the source
//! walks of an evaluation are over (see [`BaseDirs::release`]), as a walk already describes the
//! moment it ran.

use rustix::fd::OwnedFd;
use rustix::fs as rfs;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

/// The parent directory of the last tree walked, and the handle on it once two trees in a row
/// shared it.
#[derive(Debug, Default)]
pub(crate) struct BaseDirs(Mutex<State>);

#[derive(Debug, Default)]
struct State {
    /// The parent of the last tree asked about, as bytes.
    seen: Vec<u8>,
    /// The handle opened on `seen` (or on an earlier parent, until another is opened).
    open: Option<Arc<BaseDir>>,
}

/// An open directory and its absolute path, to `lstat` the paths below it relative to it.
#[derive(Debug)]
pub(crate) struct BaseDir {
    /// The directory's absolute path, without a trailing `/`.
    path: Vec<u8>,
    fd: OwnedFd,
}

impl BaseDirs {
    fn state(&self) -> MutexGuard<'_, State> {
        // Each field is set in one step: a panic elsewhere leaves a usable state.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The handle to walk the tree at `root` with: one on its parent directory if the last
    /// tree asked about had the same parent (opening it then), else `None` (absolute paths).
    pub(crate) fn for_root(&self, root: &Path) -> Option<Arc<BaseDir>> {
        let parent = plain_parent(root.as_os_str().as_bytes())?;
        let mut state = self.state();
        if let Some(open) = state.open.as_ref().filter(|open| open.path == parent) {
            return Some(open.clone());
        }
        if state.seen != parent {
            state.seen.clear();
            state.seen.extend_from_slice(parent);
            return None;
        }
        let flags = rfs::OFlags::PATH | rfs::OFlags::DIRECTORY | rfs::OFlags::CLOEXEC;
        // A parent that cannot be opened is walked through absolute paths, as without it.
        let fd = rfs::open(
            Path::new(std::ffi::OsStr::from_bytes(parent)),
            flags,
            rfs::Mode::empty(),
        )
        .ok()?;
        let open = Arc::new(BaseDir {
            path: parent.to_vec(),
            fd,
        });
        state.open = Some(open.clone());
        Some(open)
    }

    /// Closes the handle (walks in flight keep theirs until they end): called once the source
    /// walks of an evaluation are over.
    pub(crate) fn release(&self) {
        let mut state = self.state();
        state.open = None;
        state.seen.clear();
    }
}

impl BaseDir {
    /// `lstat` of `path`: relative to the handle if `path` is below its directory, else of
    /// the absolute path.
    pub(crate) fn lstat(&self, path: &Path) -> rustix::io::Result<rfs::Stat> {
        match self.below(path.as_os_str().as_bytes()) {
            Some(rel) => rfs::statat(&self.fd, rel, rfs::AtFlags::SYMLINK_NOFOLLOW),
            None => rfs::lstat(path),
        }
    }

    /// `path` relative to the directory, if it is a path below it (not the directory itself).
    fn below<'a>(&self, path: &'a [u8]) -> Option<&'a [u8]> {
        let rest = path
            .strip_prefix(self.path.as_slice())?
            .strip_prefix(b"/")?;
        (!rest.is_empty()).then_some(rest)
    }
}

/// `lstat` of `path`, relative to `base` when there is one.
pub(crate) fn lstat_via(base: Option<&BaseDir>, path: &Path) -> rustix::io::Result<rfs::Stat> {
    match base {
        Some(base) => base.lstat(path),
        None => rfs::lstat(path),
    }
}

/// The parent of the absolute `path`, if every component of it is a plain name (no `.`, `..`
/// or empty component, no trailing `/`) and the parent is not `/` itself.
fn plain_parent(path: &[u8]) -> Option<&[u8]> {
    let rest = path.strip_prefix(b"/")?;
    let plain = rest
        .split(|b| *b == b'/')
        .all(|name| !matches!(name, b"" | b"." | b".."));
    if !plain {
        return None;
    }
    let cut = path.iter().rposition(|b| *b == b'/')?;
    (cut > 0).then(|| &path[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn only_plain_absolute_paths_have_a_parent_to_open() {
        assert_eq!(plain_parent(b"/a/b/c"), Some(&b"/a/b"[..]));
        assert_eq!(plain_parent(b"/a/b"), Some(&b"/a"[..]));
        for path in [
            &b"/a"[..],
            b"a/b",
            b"/a/./b",
            b"/a/../b",
            b"/a//b",
            b"/a/b/",
            b"/a/b/..",
            b"/",
            b"",
        ] {
            assert_eq!(
                plain_parent(path),
                None,
                "{}",
                String::from_utf8_lossy(path)
            );
        }
    }

    #[test]
    fn the_handle_opens_on_the_second_tree_of_a_directory_and_stats_alike() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let parts = tmp.path().join("parts");
        for p in ["p0", "p1", "p2"] {
            fs::create_dir_all(parts.join(p).join("bin")).expect("mkdir");
            fs::write(parts.join(p).join("bin/tool"), p).expect("write");
        }
        std::os::unix::fs::symlink("bin/tool", parts.join("p0/link")).expect("symlink");
        let other = tmp.path().join("other");
        fs::create_dir_all(&other).expect("mkdir");
        let bases = BaseDirs::default();
        assert!(
            bases.for_root(&parts.join("p0")).is_none(),
            "first sighting"
        );
        let base = bases
            .for_root(&parts.join("p1"))
            .expect("second sighting opens");
        let again = bases.for_root(&parts.join("p2")).expect("kept");
        assert!(Arc::ptr_eq(&base, &again));
        for path in [
            parts.join("p0"),
            parts.join("p0/bin"),
            parts.join("p0/bin/tool"),
            parts.join("p0/link"),
            other.clone(),
            parts.clone(),
        ] {
            let via = base.lstat(&path).expect("stat via the handle");
            let plain = rfs::lstat(&path).expect("stat");
            assert_eq!(
                (via.st_ino, via.st_mode),
                (plain.st_ino, plain.st_mode),
                "{path:?}"
            );
        }
        // A symlink is not followed, relative or not.
        let link = base.lstat(&parts.join("p0/link")).expect("stat");
        assert_eq!(
            rfs::FileType::from_raw_mode(link.st_mode),
            rfs::FileType::Symlink
        );
        assert!(base.lstat(&parts.join("p0/missing")).is_err());
        // A tree elsewhere does not use the handle, and the next one there opens another.
        assert!(bases.for_root(&other.join("x")).is_none());
        assert!(bases.for_root(&parts.join("p0")).is_some(), "still open");
        bases.release();
        assert!(bases.for_root(&parts.join("p0")).is_none(), "released");
    }

    #[test]
    fn a_parent_that_cannot_be_opened_gives_no_handle() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("file");
        fs::write(&file, "x").expect("write");
        let bases = BaseDirs::default();
        assert!(bases.for_root(&file.join("a")).is_none());
        assert!(bases.for_root(&file.join("b")).is_none());
        let missing = tmp.path().join("missing");
        assert!(bases.for_root(&missing.join("a")).is_none());
        assert!(bases.for_root(&missing.join("b")).is_none());
    }
}
