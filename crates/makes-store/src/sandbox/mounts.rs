//! The mount steps of a sandbox's set-up, run between `fork` and `exec`: system calls on
//! prepared paths only.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::symlink;
use std::path::Path;

use rustix::fs::{Mode, OFlags, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::MountFlags;

use super::{cstring, fail};

/// One step of the set-up of the sandbox's mounts, run in order by the sandbox.
pub(crate) enum Step {
    /// A bind mount; `readonly` also makes it nosuid and nodev.
    Bind {
        src: CString,
        dst: CString,
        readonly: bool,
    },
    Tmpfs {
        dst: CString,
        options: CString,
    },
    /// A private devpts instance (its own `ptmx`).
    Devpts {
        dst: CString,
    },
    Mkdir {
        path: CString,
    },
    /// An empty file (a mount point for a device or a file).
    Touch {
        path: CString,
    },
    Symlink {
        target: CString,
        path: CString,
    },
    /// Attaches a detached mount (an [idmapped](super::idmap) tree).
    Attach {
        tree: OwnedFd,
        dst: CString,
    },
}

/// Makes one mount step.
pub(super) fn run_step(step: &Step) -> io::Result<()> {
    use rustix::fs::{mkdir, open, symlink as symlink_at};
    use rustix::mount::{mount, mount_bind_recursive};
    match step {
        Step::Bind { src, dst, readonly } => {
            mount_bind_recursive(src.as_c_str(), dst.as_c_str())
                .map_err(|e| fail(src.as_bytes(), e))?;
            if *readonly {
                remount_readonly(dst).map_err(|e| fail(b"read-only remount", e))?;
            }
        }
        Step::Tmpfs { dst, options } => mount(
            c"tmpfs",
            dst.as_c_str(),
            c"tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            options.as_c_str(),
        )
        .map_err(|e| fail(b"mounting a tmpfs", e))?,
        Step::Devpts { dst } => mount(
            c"devpts",
            dst.as_c_str(),
            c"devpts",
            MountFlags::NOSUID | MountFlags::NOEXEC,
            c"newinstance,ptmxmode=0666,mode=0620",
        )
        .map_err(|e| fail(b"mounting devpts", e))?,
        Step::Mkdir { path } => {
            mkdir(path.as_c_str(), Mode::from_raw_mode(0o755)).map_err(|e| fail(b"mkdir", e))?
        }
        Step::Touch { path } => {
            open(
                path.as_c_str(),
                OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o644),
            )
            .map_err(|e| fail(b"creating a mount point", e))?;
        }
        Step::Symlink { target, path } => {
            symlink_at(target.as_c_str(), path.as_c_str()).map_err(|e| fail(b"symlink", e))?
        }
        Step::Attach { tree, dst } => attach(tree, dst)?,
    }
    Ok(())
}

/// Attaches the detached mount `tree` at `dst`.
pub(super) fn attach(tree: &OwnedFd, dst: &CStr) -> io::Result<()> {
    use rustix::mount::{move_mount, MoveMountFlags};
    move_mount(
        tree,
        c"",
        rustix::fs::CWD,
        dst,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| fail(b"attaching the idmapped root", e))
}

/// Makes the mount point of one path of the input closure at `inside` and the step that binds
/// it read-only; a symlink is copied (a bind mount would follow it).
pub(super) fn closure_path(real: &Path, inside: &Path, steps: &mut Vec<Step>) -> io::Result<()> {
    let meta = fs::symlink_metadata(real)?;
    if meta.file_type().is_symlink() {
        return symlink(fs::read_link(real)?, inside);
    }
    if meta.is_dir() {
        fs::create_dir(inside)?;
    } else {
        fs::File::create(inside)?;
    }
    steps.push(Step::Bind {
        src: cstring(real)?,
        dst: cstring(inside)?,
        readonly: true,
    });
    Ok(())
}

/// Remounts a bind mount read-only, nosuid and nodev, keeping the flags the kernel would
/// refuse to drop (in a user namespace, the host's are locked).
fn remount_readonly(target: &CStr) -> Result<(), Errno> {
    let current = rustix::fs::statvfs(target)?.f_flag;
    let mut flags = MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV;
    for (st, ms) in [
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ] {
        if current.contains(st) {
            flags |= ms;
        }
    }
    if !current.intersects(StatVfsMountFlags::NOATIME | StatVfsMountFlags::RELATIME) {
        // Without an atime flag the kernel would pick relatime, which a locked strictatime
        // mount refuses.
        flags |= MountFlags::STRICTATIME;
    }
    rustix::mount::mount_remount(target, flags, c"")
}
