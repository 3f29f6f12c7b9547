//! A directory that file operations cannot leave: paths are resolved inside it one component
//! at a time, with `O_NOFOLLOW` at every step, symlinks read and resolved by hand as if the
//! directory were `/` (an absolute target starts again at the root, `..` stops there), as
//! containerd's `fs.RootPath` and `openat2(RESOLVE_IN_ROOT)` resolve them. Entries are then
//! created, changed and removed relative to the directory fd that holds them, so no symlink
//! a base layer planted can send a write or a deletion to the host.

use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags};
use rustix::io::Errno;

/// Symlinks followed while resolving one path before giving up, as the kernel's `ELOOP`.
const MAX_SYMLINKS: usize = 40;
/// Directories nested deeper than this are not removed (nor unpacked): no honest image has them.
const MAX_DEPTH: usize = 1024;

/// An open directory whose paths never resolve outside it.
#[derive(Debug)]
pub(crate) struct ConfinedRoot {
    fd: OwnedFd,
}

impl ConfinedRoot {
    pub fn open(path: &Path) -> io::Result<ConfinedRoot> {
        let fd = rustix::fs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(ConfinedRoot { fd })
    }

    /// The directory at `components` (already cleaned: no empty, `.` or `..` parts), symlinks
    /// resolved inside the root. Missing directories are created (mode 0755) when `create`;
    /// otherwise a missing one gives `None`.
    pub fn resolve_dir(&self, components: &[&[u8]], create: bool) -> io::Result<Option<OwnedFd>> {
        let mut pending: VecDeque<Vec<u8>> = components.iter().map(|c| c.to_vec()).collect();
        // The real directories walked so far (never symlinks), to go back on `..`.
        let mut walked: Vec<Vec<u8>> = Vec::new();
        let mut current = self.dup_root()?;
        let mut symlinks = 0;
        while let Some(name) = pending.pop_front() {
            match name.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    walked.pop();
                    current = self.reopen(&walked)?;
                    continue;
                }
                _ => {}
            }
            if walked.len() >= MAX_DEPTH {
                return Err(io::Error::other("directories nested too deeply"));
            }
            let stat = match rustix::fs::statat(&current, bytes(&name), AtFlags::SYMLINK_NOFOLLOW) {
                Ok(stat) => Some(stat),
                Err(Errno::NOENT) => None,
                Err(e) => return Err(e.into()),
            };
            match stat.map(|s| FileType::from_raw_mode(s.st_mode)) {
                Some(FileType::Directory) => {}
                Some(FileType::Symlink) => {
                    symlinks += 1;
                    if symlinks > MAX_SYMLINKS {
                        return Err(Errno::LOOP.into());
                    }
                    let target = rustix::fs::readlinkat(&current, bytes(&name), Vec::new())?;
                    let target = target.as_bytes();
                    if target.starts_with(b"/") {
                        walked.clear();
                        current = self.dup_root()?;
                    }
                    for part in target.split(|&b| b == b'/').rev() {
                        pending.push_front(part.to_vec());
                    }
                    continue;
                }
                Some(_) => return Err(Errno::NOTDIR.into()),
                None if create => {
                    match rustix::fs::mkdirat(&current, bytes(&name), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
                None => return Ok(None),
            }
            current = open_dir_at(&current, &name)?;
            walked.push(name);
        }
        Ok(Some(current))
    }

    fn dup_root(&self) -> io::Result<OwnedFd> {
        self.fd.try_clone()
    }

    /// The directory at `walked`, every part a real directory found before.
    fn reopen(&self, walked: &[Vec<u8>]) -> io::Result<OwnedFd> {
        let mut fd = self.dup_root()?;
        for name in walked {
            fd = open_dir_at(&fd, name)?;
        }
        Ok(fd)
    }
}

fn bytes(name: &[u8]) -> &OsStr {
    OsStr::from_bytes(name)
}

/// The directory `name` in `dir`, never through a symlink.
pub(crate) fn open_dir_at(dir: impl AsFd, name: &[u8]) -> io::Result<OwnedFd> {
    Ok(rustix::fs::openat(
        dir,
        bytes(name),
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

/// What `name` in `dir` is, without following it; `None` if there is nothing.
pub(crate) fn kind_at(dir: impl AsFd, name: &[u8]) -> io::Result<Option<FileType>> {
    match rustix::fs::statat(dir, bytes(name), AtFlags::SYMLINK_NOFOLLOW) {
        Ok(stat) => Ok(Some(FileType::from_raw_mode(stat.st_mode))),
        Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Removes `name` from `dir`, a directory with everything below it, never following a
/// symlink; nothing there is fine.
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<()> {
    match kind_at(dir, name)? {
        None => Ok(()),
        Some(FileType::Directory) => {
            let fd = open_dir_for_removal(dir, name)?;
            clear_dir(fd, &|_| false)?;
            Ok(rustix::fs::unlinkat(dir, bytes(name), AtFlags::REMOVEDIR)?)
        }
        Some(_) => Ok(rustix::fs::unlinkat(dir, bytes(name), AtFlags::empty())?),
    }
}

/// Removes everything in the directory `dir` except the entries `keep` names (opaque
/// directories keep what their own layer put there).
pub(crate) fn clear_dir(dir: OwnedFd, keep: &dyn Fn(&[u8]) -> bool) -> io::Result<()> {
    struct Frame {
        fd: OwnedFd,
        name: Vec<u8>,
        subdirs: Vec<Vec<u8>>,
    }
    let first = list_and_unlink(&dir, keep)?;
    let mut stack = vec![Frame {
        fd: dir,
        name: Vec::new(),
        subdirs: first,
    }];
    // Iterative, so that a deep tree cannot exhaust the stack.
    while let Some(top) = stack.last_mut() {
        if let Some(sub) = top.subdirs.pop() {
            if stack.len() >= MAX_DEPTH {
                return Err(io::Error::other("directories nested too deeply to remove"));
            }
            let fd = match stack.last() {
                Some(top) => open_dir_for_removal(top.fd.as_fd(), &sub)?,
                None => break,
            };
            let subdirs = list_and_unlink(&fd, &|_| false)?;
            stack.push(Frame {
                fd,
                name: sub,
                subdirs,
            });
        } else {
            let done = stack.pop();
            if let (Some(done), Some(parent)) = (done, stack.last()) {
                rustix::fs::unlinkat(&parent.fd, bytes(&done.name), AtFlags::REMOVEDIR)?;
            }
        }
    }
    Ok(())
}

/// Opens a directory to empty it; a directory its owner cannot read or write (an unprivileged
/// run) gets `u+rwx` first.
fn open_dir_for_removal(dir: BorrowedFd<'_>, name: &[u8]) -> io::Result<OwnedFd> {
    match open_dir_at(dir, name) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            rustix::fs::chmodat(
                dir,
                bytes(name),
                Mode::from_raw_mode(0o700),
                AtFlags::empty(),
            )?;
            open_dir_at(dir, name)
        }
        Err(e) => Err(e),
        Ok(fd) => {
            if !rustix::process::geteuid().is_root() {
                let mode = rustix::fs::fstat(&fd)?.st_mode;
                if mode & 0o700 != 0o700 {
                    rustix::fs::fchmod(&fd, Mode::from_raw_mode((mode | 0o700) & 0o7777))?;
                }
            }
            Ok(fd)
        }
    }
}

/// Unlinks the non-directories of `dir` (except those `keep` names) and returns the names of
/// its directories.
fn list_and_unlink(dir: &OwnedFd, keep: &dyn Fn(&[u8]) -> bool) -> io::Result<Vec<Vec<u8>>> {
    let mut subdirs = Vec::new();
    let mut others = Vec::new();
    for entry in Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." || keep(name) {
            continue;
        }
        let is_dir = match entry.file_type() {
            FileType::Unknown => kind_at(dir, name)? == Some(FileType::Directory),
            t => t == FileType::Directory,
        };
        if is_dir {
            subdirs.push(name.to_vec());
        } else {
            others.push(name.to_vec());
        }
    }
    for name in others {
        rustix::fs::unlinkat(dir, bytes(&name), AtFlags::empty())?;
    }
    Ok(subdirs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn comps(path: &str) -> Vec<&[u8]> {
        path.split('/').map(str::as_bytes).collect()
    }

    #[test]
    fn absolute_and_relative_symlinks_resolve_inside_the_root() {
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        fs::create_dir(&victim).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root_path = dir.path().join("root");
        fs::create_dir(&root_path).unwrap();
        symlink(&victim, root_path.join("abs")).unwrap();
        symlink("../../../../../..", root_path.join("up")).unwrap();
        let root = ConfinedRoot::open(&root_path).unwrap();

        root.resolve_dir(&comps("abs/made"), true).unwrap().unwrap();
        root.resolve_dir(&comps("up/made-too"), true)
            .unwrap()
            .unwrap();
        assert_eq!(
            fs::read_dir(&victim).unwrap().count(),
            0,
            "the host dir is untouched"
        );
        let inside = root_path
            .join(victim.strip_prefix("/").unwrap())
            .join("made");
        assert!(
            inside.is_dir(),
            "created under the root instead: {inside:?}"
        );
        assert!(
            root_path.join("made-too").is_dir(),
            "`..` stops at the root"
        );
        assert!(root
            .resolve_dir(&comps("abs/absent"), false)
            .unwrap()
            .is_none());
    }

    #[test]
    fn symlink_loops_and_files_in_the_way_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        symlink("b", dir.path().join("a")).unwrap();
        symlink("a", dir.path().join("b")).unwrap();
        fs::write(dir.path().join("file"), "x").unwrap();
        let root = ConfinedRoot::open(dir.path()).unwrap();
        assert!(root.resolve_dir(&comps("a/x"), true).is_err());
        assert!(root.resolve_dir(&comps("file/x"), true).is_err());
    }

    #[test]
    fn removal_never_follows_symlinks() {
        let outside = tempfile::tempdir().unwrap();
        fs::write(outside.path().join("keep"), "host").unwrap();
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("tree/deep/er")).unwrap();
        fs::write(dir.path().join("tree/deep/er/f"), "x").unwrap();
        symlink(outside.path(), dir.path().join("tree/link")).unwrap();
        let root = ConfinedRoot::open(dir.path()).unwrap();
        remove_at(root.fd.as_fd(), b"tree").unwrap();
        assert!(!dir.path().join("tree").exists());
        assert_eq!(
            fs::read_to_string(outside.path().join("keep")).unwrap(),
            "host"
        );
        remove_at(root.fd.as_fd(), b"absent").unwrap();
    }
}
