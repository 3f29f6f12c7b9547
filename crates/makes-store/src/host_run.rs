//! Running a built program on the host, as makes runs a job's action: with the caller's
//! files, environment, working directory, terminal and network, but with the store at
//! `/nix/store`, where the program's own paths point. The program runs in a new mount
//! namespace (plus a user namespace mapping the caller to itself when makes is not root)
//! whose root mirrors the host's top-level entries with bind mounts and holds the store at
//! `/nix/store`: laid over the host's own `/nix/store` when there is one (so that a host whose
//! programs live there keeps them), else alone. Nothing of the host is written: mount points
//! are made in a scratch directory and removed afterwards.

use std::ffi::{CStr, CString, OsString};
use std::fs;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use crate::local::LocalStore;
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

/// What [`run_on_host`] runs.
#[derive(Debug, Clone)]
pub struct HostRun<'a> {
    /// The program: a path (an action's is under `/nix/store`), or a name looked up on `PATH`.
    pub program: &'a Path,
    pub args: &'a [OsString],
    /// The working directory (a host path, which the new root mirrors).
    pub workdir: &'a Path,
}

/// One mount made in the child before it execs the program.
struct Mount {
    src: CString,
    dst: CString,
    /// `Some(options)`: an overlay of the store over the host's `/nix/store` with these
    /// options; `None`: a recursive bind mount.
    overlay: Option<CString>,
}

/// Runs the program with `store` at `/nix/store` and the caller's environment and standard
/// streams; returns how it ended.
pub fn run_on_host(store: &LocalStore, run: &HostRun) -> io::Result<ExitStatus> {
    let store_dir = store.store_dir();
    // The mount points of the new root live in the store's scratch area.
    let scratch = store.tmp_dir();
    fs::create_dir_all(&scratch)?;
    // Kept from automatic removal: the loop below removes it entry by entry.
    let root = tempfile::Builder::new()
        .prefix("host-")
        .tempdir_in(&scratch)?
        .keep();
    let root = root.as_path();
    let mut made = vec![root.to_path_buf()];
    let result = (|| {
        let mut mounts = mirror_children(Path::new("/"), root, &["nix"], &mut made)?;
        let nix = root.join("nix");
        fs::create_dir(&nix)?;
        made.push(nix.clone());
        let host_store = Path::new("/nix/store");
        if fs::symlink_metadata("/nix").is_ok_and(|m| m.is_dir()) {
            mounts.extend(mirror_children(
                Path::new("/nix"),
                &nix,
                &["store"],
                &mut made,
            )?);
        }
        let store_inside = nix.join("store");
        fs::create_dir(&store_inside)?;
        made.push(store_inside.clone());
        mounts.push(store_mount(&store_dir, host_store, &store_inside)?);
        let child = Child {
            new_root: cstring(root)?,
            workdir: cstring(run.workdir)?,
            mounts,
            id_maps: id_maps(),
        };
        let mut cmd = Command::new(run.program);
        cmd.args(run.args);
        // SAFETY: `enter` only makes system calls on data prepared before the fork; it does
        // not allocate, lock or touch other threads' state.
        unsafe {
            cmd.pre_exec(move || child.enter());
        }
        cmd.status()
    })();
    // The mounts lived in the child's namespace; on the host these are empty mount points.
    // Removed one by one, never recursively, so that nothing else could ever go with them.
    for path in made.iter().rev() {
        let _ = match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => fs::remove_dir(path),
            Ok(_) => fs::remove_file(path),
            Err(_) => Ok(()),
        };
    }
    result
}

/// Mount points in `inside` for the entries of the host directory `host` (but `except`):
/// directories and files are bound, symlinks copied.
fn mirror_children(
    host: &Path,
    inside: &Path,
    except: &[&str],
    made: &mut Vec<PathBuf>,
) -> io::Result<Vec<Mount>> {
    let mut mounts = Vec::new();
    let mut entries: Vec<_> = fs::read_dir(host)?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name();
        if except.iter().any(|e| name.as_bytes() == e.as_bytes()) {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let (src, dst) = (entry.path(), inside.join(&name));
        if kind.is_symlink() {
            symlink(fs::read_link(&src)?, &dst)?;
            made.push(dst);
            continue;
        }
        if kind.is_dir() {
            fs::create_dir(&dst)?;
        } else if kind.is_file() {
            fs::File::create(&dst)?;
        } else {
            continue;
        }
        made.push(dst.clone());
        mounts.push(Mount {
            src: cstring(&src)?,
            dst: cstring(&dst)?,
            overlay: None,
        });
    }
    Ok(mounts)
}

/// The store at `inside`: over the host's `/nix/store` when there is one and overlayfs can
/// name both directories, else alone.
fn store_mount(store_dir: &Path, host_store: &Path, inside: &Path) -> io::Result<Mount> {
    let nameable = |p: &Path| !p.as_os_str().as_bytes().iter().any(|b| b":,\\".contains(b));
    let overlay = (host_store.is_dir() && nameable(store_dir)).then(|| {
        let mut options = b"lowerdir=".to_vec();
        options.extend_from_slice(store_dir.as_os_str().as_bytes());
        options.push(b':');
        options.extend_from_slice(host_store.as_os_str().as_bytes());
        options
    });
    Ok(Mount {
        src: cstring(store_dir)?,
        dst: cstring(inside)?,
        overlay: overlay
            .map(CString::new)
            .transpose()
            .map_err(io::Error::other)?,
    })
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

/// `Some((uid_map, gid_map))`, mapping the caller to itself, when makes is not root.
fn id_maps() -> Option<(Vec<u8>, Vec<u8>)> {
    let uid = rustix::process::geteuid();
    if uid.is_root() {
        return None;
    }
    let gid = rustix::process::getegid();
    Some((
        format!("{0} {0} 1\n", uid.as_raw()).into_bytes(),
        format!("{0} {0} 1\n", gid.as_raw()).into_bytes(),
    ))
}

/// Everything the child needs between `fork` and `exec`, prepared before the fork.
struct Child {
    new_root: CString,
    workdir: CString,
    mounts: Vec<Mount>,
    id_maps: Option<(Vec<u8>, Vec<u8>)>,
}

impl Child {
    fn enter(&self) -> io::Result<()> {
        use rustix::mount::{mount, mount_bind_recursive, mount_change, unmount};
        use rustix::process::{chdir, pivot_root};

        let mut flags = UnshareFlags::NEWNS;
        if self.id_maps.is_some() {
            flags |= UnshareFlags::NEWUSER;
        }
        // SAFETY: we are the only thread of the freshly forked child, and no FILES flag is used.
        unsafe { rustix::thread::unshare_unsafe(flags) }.map_err(|e| fail(b"unshare", e))?;
        if let Some((uid_map, gid_map)) = &self.id_maps {
            write_file(c"/proc/self/setgroups", b"deny").map_err(|e| fail(b"setgroups", e))?;
            write_file(c"/proc/self/uid_map", uid_map).map_err(|e| fail(b"uid_map", e))?;
            write_file(c"/proc/self/gid_map", gid_map).map_err(|e| fail(b"gid_map", e))?;
        }
        // Nothing mounted here may propagate back to the host.
        mount_change(
            c"/",
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        )
        .map_err(|e| fail(b"making / private", e))?;
        // pivot_root needs the new root to be a mount point.
        mount_bind_recursive(self.new_root.as_c_str(), self.new_root.as_c_str())
            .map_err(|e| fail(b"binding the new root", e))?;
        for m in &self.mounts {
            let overlaid = m.overlay.as_deref().is_some_and(|options| {
                mount(
                    c"overlay",
                    m.dst.as_c_str(),
                    c"overlay",
                    MountFlags::RDONLY,
                    Some(options),
                )
                .is_ok()
            });
            if !overlaid {
                mount_bind_recursive(m.src.as_c_str(), m.dst.as_c_str())
                    .map_err(|e| fail(m.src.as_bytes(), e))?;
            }
        }
        chdir(self.new_root.as_c_str()).map_err(|e| fail(b"chdir to the new root", e))?;
        pivot_root(c".", c".").map_err(|e| fail(b"pivot_root", e))?;
        unmount(c".", UnmountFlags::DETACH).map_err(|e| fail(b"detaching the old root", e))?;
        chdir(self.workdir.as_c_str()).map_err(|e| fail(b"chdir to the working directory", e))?;
        Ok(())
    }
}

fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    use rustix::fs::{open, Mode, OFlags};
    let fd = open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    let written = rustix::io::write(&fd, data)?;
    if written != data.len() {
        return Err(Errno::IO);
    }
    Ok(())
}

/// Reports a failed step on stderr (the caller sees only the errno) without allocating.
fn fail(step: &[u8], errno: Errno) -> io::Error {
    // SAFETY: fd 2 is open for the whole life of the child (std set it up before pre_exec).
    let stderr = unsafe { BorrowedFd::borrow_raw(2) };
    for part in [&b"makes: setting up the run: "[..], step, b" failed\n"] {
        let _ = rustix::io::write(stderr, part);
    }
    io::Error::from_raw_os_error(errno.raw_os_error())
}
