//! File-system helpers for store contents: canonicalising a tree the way Nix does
//! (`canonicalisePathMetaData`: read-only modes, mtime 1, makes' own owner), removing a tree
//! that canonicalisation made read-only, and shifting the owners of a tree between id ranges
//! (for the sandbox's user namespaces).

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use rustix::fs::Timespec;
use rustix::fs::{AtFlags, Timestamps, CWD};

use crate::error::{io_err, Result, StoreError};

/// The mtime (and atime) of everything in the store: one second after the epoch, as in Nix.
pub(crate) const STORE_MTIME: i64 = 1;

/// Whether a mode counts as executable, as Nix decides it (`S_IXUSR`).
pub(crate) fn is_executable(mode: u32) -> bool {
    mode & 0o100 != 0
}

/// Canonicalises a tree in place: regular files 0444 (0555 if executable), directories 0555,
/// symlinks kept as they are; atime and mtime 1 everywhere, also on symlinks; everything owned
/// by makes' own uid and gid (a build wrote it as the build user). Special files (devices,
/// fifos, sockets) are refused.
pub(crate) fn canonicalise(path: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    let (uid, gid) = (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    );
    if (meta.uid(), meta.gid()) != (uid, gid) {
        set_owner(path, uid, gid)?;
    }
    let ft = meta.file_type();
    if ft.is_symlink() {
        // Nothing to do but the time.
    } else if ft.is_file() {
        let mode = if is_executable(meta.permissions().mode()) {
            0o555
        } else {
            0o444
        };
        set_mode(path, mode)?;
    } else if ft.is_dir() {
        // Readable and searchable by us whatever the builder left, then the children.
        set_mode(path, 0o755)?;
        for entry in fs::read_dir(path).map_err(io_err(path))? {
            canonicalise(&entry.map_err(io_err(path))?.path())?;
        }
        set_mode(path, 0o555)?;
    } else {
        return Err(StoreError::UnsupportedFileType {
            path: path.to_owned(),
        });
    }
    set_store_mtime(path)
}

/// Canonicalises a directory itself, not its contents (already canonical): mode 0555 and
/// mtime 1.
pub(crate) fn canonicalise_top(dir: &Path) -> Result<()> {
    set_mode(dir, 0o555)?;
    set_store_mtime(dir)
}

/// Sets the owner of `path` itself, never following a symlink.
fn set_owner(path: &Path, uid: u32, gid: u32) -> Result<()> {
    rustix::fs::chownat(
        CWD,
        path,
        Some(rustix::fs::Uid::from_raw(uid)),
        Some(rustix::fs::Gid::from_raw(gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )
    .map_err(|e| io_err(path)(e.into()))
}

/// A move of owners between id ranges: uids and gids in `from..from + count` become the same
/// offset from `to`; other ids stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct IdShift {
    pub from: u32,
    pub count: u32,
    pub to: u32,
}

impl IdShift {
    fn apply(&self, id: u32) -> u32 {
        match id.checked_sub(self.from) {
            Some(offset) if offset < self.count => self.to + offset,
            _ => id,
        }
    }

    /// The shift that undoes this one.
    pub(crate) fn reversed(&self) -> IdShift {
        IdShift {
            from: self.to,
            count: self.count,
            to: self.from,
        }
    }
}

/// Shifts the owners of every file of the tree at `root` (itself included) by `shift`, never
/// following symlinks; a file with several hard links is shifted once. The setuid and setgid
/// bits that `chown` clears are set again.
pub(crate) fn shift_owners(root: &Path, shift: IdShift) -> Result<()> {
    shift_tree(root, shift, &mut HashSet::new())
}

fn shift_tree(path: &Path, shift: IdShift, linked: &mut HashSet<(u64, u64)>) -> Result<()> {
    let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
    let first_visit = meta.is_dir() || meta.nlink() < 2 || linked.insert((meta.dev(), meta.ino()));
    if first_visit {
        let (uid, gid) = (shift.apply(meta.uid()), shift.apply(meta.gid()));
        if (uid, gid) != (meta.uid(), meta.gid()) {
            set_owner(path, uid, gid)?;
            let set_id_bits = meta.mode() & 0o6000;
            if meta.is_file() && set_id_bits != 0 {
                set_mode(path, meta.mode() & 0o7777)?;
            }
        }
    }
    if meta.is_dir() {
        for entry in fs::read_dir(path).map_err(io_err(path))? {
            shift_tree(&entry.map_err(io_err(path))?.path(), shift, linked)?;
        }
    }
    Ok(())
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path))
}

fn set_store_mtime(path: &Path) -> Result<()> {
    let t = Timespec {
        tv_sec: STORE_MTIME,
        tv_nsec: 0,
    };
    let times = Timestamps {
        last_access: t,
        last_modification: t,
    };
    rustix::fs::utimensat(CWD, path, &times, AtFlags::SYMLINK_NOFOLLOW)
        .map_err(|e| io_err(path)(e.into()))
}

/// Removes a file, symlink or tree, making read-only directories writable first. A missing
/// path is not an error.
pub(crate) fn remove_tree(path: &Path) -> Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err(path)(e)),
    };
    if meta.is_dir() {
        // Never through a mount: a scratch directory may hold the bind mounts of a root that
        // a running program sees (`run_on_host`), and below them are the host's own files.
        if is_mount_root(path) {
            return Err(io_err(path)(std::io::Error::new(
                std::io::ErrorKind::ResourceBusy,
                "a mount point: not removed, nor anything under it",
            )));
        }
        set_mode(path, 0o755)?;
        for entry in fs::read_dir(path).map_err(io_err(path))? {
            remove_tree(&entry.map_err(io_err(path))?.path())?;
        }
        fs::remove_dir(path).map_err(io_err(path))
    } else {
        fs::remove_file(path).map_err(io_err(path))
    }
}

/// Whether `path` is the root of a mount (a bind mount included), as `statx` tells; false
/// where the kernel cannot tell.
pub(crate) fn is_mount_root(path: &Path) -> bool {
    use rustix::fs::{statx, StatxAttributes, StatxFlags};
    statx(
        CWD,
        path,
        AtFlags::NO_AUTOMOUNT | AtFlags::SYMLINK_NOFOLLOW,
        StatxFlags::empty(),
    )
    .is_ok_and(|r| {
        r.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
            && r.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_roots_are_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(!is_mount_root(dir.path()));
        // /proc is a mount of its own wherever makes runs.
        assert!(is_mount_root(Path::new("/proc")));
    }

    /// A real bind mount, made in a private mount namespace (`unshare`, as root): removing
    /// the tree that holds it fails at the mount and leaves the mounted files alone.
    #[test]
    fn a_tree_is_not_removed_through_a_bind_mount() {
        let root = rustix::process::geteuid().is_root();
        let unshare = std::process::Command::new("unshare")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !root || !unshare {
            eprintln!("note: skipped: needs root and unshare to make a bind mount");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let host = dir.path().join("host");
        let tree = dir.path().join("tree");
        fs::create_dir_all(&host).expect("mkdir host");
        fs::create_dir_all(tree.join("mnt")).expect("mkdir tree");
        fs::write(host.join("keep"), "x").expect("keep");
        let exe = std::env::current_exe().expect("the test binary");
        let status = std::process::Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount --bind \"$1\" \"$2\" && exec \"$3\" --exact fsutil::tests::removing_stops_at_a_mount --ignored")
            .arg("sh")
            .arg(&host)
            .arg(tree.join("mnt"))
            .arg(&exe)
            .env("MAKES_TEST_TREE", &tree)
            .status()
            .expect("unshare runs");
        assert!(status.success(), "the inner test failed: {status}");
        assert!(
            host.join("keep").exists(),
            "a file under the mount was removed"
        );
    }

    /// Run by `a_tree_is_not_removed_through_a_bind_mount` inside its namespace.
    #[test]
    #[ignore = "run inside a mount namespace by a_tree_is_not_removed_through_a_bind_mount"]
    fn removing_stops_at_a_mount() {
        let Some(tree) = std::env::var_os("MAKES_TEST_TREE") else {
            return;
        };
        let tree = Path::new(&tree);
        assert!(is_mount_root(&tree.join("mnt")));
        assert!(remove_tree(tree).is_err());
    }

    #[test]
    fn a_link_to_a_mount_is_removed_as_a_link() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("t");
        fs::create_dir_all(&root).expect("mkdir");
        // The guard looks at the link, not at the mount it leads to.
        std::os::unix::fs::symlink("/proc", root.join("l")).expect("symlink");
        remove_tree(&root).expect("removed");
        assert!(!root.exists());
    }

    #[test]
    fn canonicalise_then_remove() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("t");
        fs::create_dir_all(root.join("d/e")).expect("mkdir");
        fs::write(root.join("d/e/f"), "x").expect("write");
        fs::write(root.join("run"), "x").expect("write");
        fs::set_permissions(root.join("run"), fs::Permissions::from_mode(0o4711)).expect("chmod");
        std::os::unix::fs::symlink("d/e/f", root.join("l")).expect("symlink");
        fs::set_permissions(root.join("d/e"), fs::Permissions::from_mode(0o000)).expect("chmod");

        canonicalise(&root).expect("canonicalise");
        let mode = |p: &str| fs::symlink_metadata(root.join(p)).expect("stat").mode() & 0o7777;
        assert_eq!(mode(""), 0o555);
        assert_eq!(mode("d/e"), 0o555);
        assert_eq!(mode("d/e/f"), 0o444);
        assert_eq!(mode("run"), 0o555);
        for p in ["", "d", "d/e/f", "run", "l"] {
            assert_eq!(
                fs::symlink_metadata(root.join(p)).expect("stat").mtime(),
                1,
                "{p}"
            );
        }

        let copy = dir.path().join("copy");
        crate::nar::copy_with_nar_hash(&root, &copy, &|_| true).expect("copy");
        assert_eq!(
            fs::read_link(copy.join("l")).expect("link").to_str(),
            Some("d/e/f")
        );
        assert_eq!(fs::read(copy.join("d/e/f")).expect("read"), b"x");

        remove_tree(&root).expect("remove");
        assert!(!root.exists());
        remove_tree(&root).expect("missing is fine");
    }

    #[test]
    fn owners_shift_and_shift_back_once_per_inode() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("note: skipping: chown to other ids needs root");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("t");
        fs::create_dir(&root).expect("mkdir");
        fs::write(root.join("f"), "x").expect("write");
        fs::hard_link(root.join("f"), root.join("g")).expect("link");
        fs::write(root.join("suid"), "x").expect("write");
        fs::set_permissions(root.join("suid"), fs::Permissions::from_mode(0o4755)).expect("chmod");
        std::os::unix::fs::symlink("/nonexistent", root.join("l")).expect("symlink");
        fs::write(root.join("other"), "x").expect("write");
        set_owner(&root.join("other"), 70_000, 70_000).expect("chown");
        let up = IdShift {
            from: 0,
            count: 65_536,
            to: 1_000_000,
        };
        shift_owners(&root, up).expect("shift");
        let owner = |p: &str| {
            let m = fs::symlink_metadata(root.join(p)).expect("stat");
            (m.uid(), m.gid(), m.mode() & 0o7777)
        };
        assert_eq!(owner("f"), (1_000_000, 1_000_000, 0o644));
        assert_eq!(owner("suid"), (1_000_000, 1_000_000, 0o4755));
        assert_eq!(owner("l").0, 1_000_000);
        assert_eq!(owner("").0, 1_000_000);
        assert_eq!(owner("other").0, 70_000, "outside the range");
        set_owner(&root.join("f"), 1_001_234, 1_001_234).expect("chown");
        shift_owners(&root, up.reversed()).expect("shift back");
        assert_eq!(owner("f"), (1234, 1234, 0o644));
        assert_eq!(owner("suid"), (0, 0, 0o4755));
        assert_eq!(owner("l").0, 0);
    }
}
