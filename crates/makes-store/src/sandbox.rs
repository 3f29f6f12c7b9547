//! The build sandbox: the builder runs in new mount, IPC and UTS namespaces (and a new network
//! namespace unless the build is fixed-output), plus a user namespace mapping the caller to
//! root when makes itself is not root. Its root directory is a fresh directory under
//! `<store>/tmp` holding bind mounts of the host's `/usr`, `/bin`, `/lib*`, `/etc`, `/dev`,
//! `/proc` and `/sys` (read-only where the kernel lets us), the store at `/nix/store` (so that
//! builders see `/nix/store` wherever the store lives on the host, even on machines without
//! `/nix`), and a private writable `/build` and `/tmp`.
//!
//! Everything that allocates (paths, maps) is prepared before `fork`; the code that runs
//! between `fork` and `exec` ([`Sandbox::enter`]) only makes system calls on prepared data.
//! If a step fails, it writes the step's name to the child's stderr (the build log) and the
//! spawn fails; builds never fall back to running unsandboxed.

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use rustix::fs::{Mode, OFlags, StatVfsMountFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

/// Host directories mirrored into the sandbox, and whether they are remounted read-only.
const HOST_DIRS: &[(&str, bool)] = &[
    ("/usr", true),
    ("/bin", true),
    ("/sbin", true),
    ("/lib", true),
    ("/lib32", true),
    ("/lib64", true),
    ("/libx32", true),
    ("/etc", true),
    ("/dev", true),
    ("/proc", false),
    ("/sys", true),
];

/// Where the builder's private directory is, inside the sandbox.
pub(crate) const BUILD_DIR: &str = "/build";

struct BindMount {
    src: CString,
    dst: CString,
    readonly: bool,
}

/// A prepared sandbox: the skeleton of its root exists on disk, the rest is data for
/// [`Sandbox::enter`].
pub(crate) struct Sandbox {
    new_root: CString,
    /// The working directory inside the sandbox.
    workdir: CString,
    mounts: Vec<BindMount>,
    flags: UnshareFlags,
    /// `Some((uid_map, gid_map))` when a user namespace is needed (not root).
    id_maps: Option<(Vec<u8>, Vec<u8>)>,
    /// Whether the remount of a read-only bind may fail (in a user namespace, where locked
    /// mount flags can forbid it and the builder is not real root anyway).
    readonly_best_effort: bool,
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

impl Sandbox {
    /// Prepares the skeleton of the sandbox root at `new_root` (an empty directory):
    /// mount points for the host directories (or copies of their symlinks, for usr-merged
    /// systems), `nix/store` for `store_dir`, and the writable `build` and `tmp`.
    pub(crate) fn prepare(new_root: &Path, store_dir: &Path, network: bool) -> io::Result<Self> {
        let mut mounts = Vec::new();
        for &(dir, readonly) in HOST_DIRS {
            let host = Path::new(dir);
            let Ok(meta) = fs::symlink_metadata(host) else {
                continue;
            };
            let inside = new_root.join(dir.trim_start_matches('/'));
            if meta.file_type().is_symlink() {
                symlink(fs::read_link(host)?, &inside)?;
            } else if meta.is_dir() {
                fs::create_dir(&inside)?;
                mounts.push(BindMount {
                    src: cstring(host)?,
                    dst: cstring(&inside)?,
                    readonly,
                });
            }
        }
        let store_inside = new_root.join("nix/store");
        fs::create_dir_all(&store_inside)?;
        mounts.push(BindMount {
            src: cstring(store_dir)?,
            dst: cstring(&store_inside)?,
            readonly: false,
        });
        fs::create_dir_all(new_root.join("build"))?;
        let tmp = new_root.join("tmp");
        fs::create_dir_all(&tmp)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o1777))?;

        let mut flags = UnshareFlags::NEWNS
            | UnshareFlags::NEWIPC
            | UnshareFlags::NEWUTS
            | UnshareFlags::NEWPID;
        if !network {
            flags |= UnshareFlags::NEWNET;
        }
        let uid = rustix::process::geteuid();
        let id_maps = if uid.is_root() {
            None
        } else {
            flags |= UnshareFlags::NEWUSER;
            let gid = rustix::process::getegid();
            Some((
                format!("0 {} 1\n", uid.as_raw()).into_bytes(),
                format!("0 {} 1\n", gid.as_raw()).into_bytes(),
            ))
        };
        Ok(Sandbox {
            new_root: cstring(new_root)?,
            workdir: CString::from(c"/build"),
            mounts,
            flags,
            readonly_best_effort: id_maps.is_some(),
            id_maps,
        })
    }

    /// Makes `cmd` enter the sandbox between `fork` and `exec`. The command's program must be
    /// a path that exists inside the sandbox; its working directory is `/build`.
    pub(crate) fn install(self, cmd: &mut Command) {
        // SAFETY: `enter` only makes system calls on data prepared before the fork; it does
        // not allocate, lock or touch other threads' state.
        unsafe {
            cmd.pre_exec(move || self.enter());
        }
    }

    fn enter(&self) -> io::Result<()> {
        use rustix::mount::{mount_bind_recursive, mount_change, unmount};
        use rustix::process::{chdir, pivot_root};

        // Best effort: the builder dies with us.
        let _ =
            rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
        // SAFETY: we are the only thread of the freshly forked child, and no FILES flag is used.
        unsafe { rustix::thread::unshare_unsafe(self.flags) }.map_err(|e| fail(b"unshare", e))?;
        if let Some((uid_map, gid_map)) = &self.id_maps {
            write_file(c"/proc/self/setgroups", b"deny").map_err(|e| fail(b"setgroups", e))?;
            write_file(c"/proc/self/uid_map", uid_map).map_err(|e| fail(b"uid_map", e))?;
            write_file(c"/proc/self/gid_map", gid_map).map_err(|e| fail(b"gid_map", e))?;
        }
        // Nothing we mount may propagate back to the host.
        mount_change(
            c"/",
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        )
        .map_err(|e| fail(b"making / private", e))?;
        // pivot_root needs the new root to be a mount point.
        mount_bind_recursive(self.new_root.as_c_str(), self.new_root.as_c_str())
            .map_err(|e| fail(b"binding the new root", e))?;
        for m in &self.mounts {
            mount_bind_recursive(m.src.as_c_str(), m.dst.as_c_str())
                .map_err(|e| fail(m.src.as_bytes(), e))?;
            if m.readonly {
                let result = remount_readonly(&m.dst);
                if !self.readonly_best_effort {
                    result.map_err(|e| fail(b"read-only remount", e))?;
                }
            }
        }
        chdir(self.new_root.as_c_str()).map_err(|e| fail(b"chdir to the new root", e))?;
        pivot_root(c".", c".").map_err(|e| fail(b"pivot_root", e))?;
        unmount(c".", UnmountFlags::DETACH).map_err(|e| fail(b"detaching the old root", e))?;
        chdir(self.workdir.as_c_str()).map_err(|e| fail(b"chdir to the working directory", e))?;
        rustix::process::umask(Mode::from_raw_mode(0o022));
        become_pid_namespace_init()
    }
}

/// Forks once more so that the builder is process 1 of the new PID namespace: when it ends,
/// or is killed because makes died, the kernel kills every process it left behind (a
/// background job, a `cp` still writing), so nothing writes into the store after the build.
/// The intermediate process waits for it and exits as it did.
fn become_pid_namespace_init() -> io::Result<()> {
    // SAFETY: fork, waitpid, prctl and _exit are async-signal-safe; the child of a fork in a
    // single-threaded process may call them before exec.
    unsafe {
        let pid = libc::fork();
        if pid < 0 {
            return Err(fail(
                b"fork",
                Errno::from_raw_os_error(*libc::__errno_location()),
            ));
        }
        if pid > 0 {
            let mut status = 0;
            loop {
                let r = libc::waitpid(pid, &mut status, 0);
                if r == pid {
                    break;
                }
                if r < 0 && *libc::__errno_location() != libc::EINTR {
                    libc::_exit(127);
                }
            }
            let code = if libc::WIFEXITED(status) {
                libc::WEXITSTATUS(status)
            } else {
                128 + libc::WTERMSIG(status)
            };
            libc::_exit(code);
        }
        libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        );
    }
    Ok(())
}

/// The uid and gid maps of a user namespace, when one is needed.
type IdMaps = Option<(Vec<u8>, Vec<u8>)>;

fn id_maps_and_flags(network: bool) -> (UnshareFlags, IdMaps) {
    let mut flags =
        UnshareFlags::NEWNS | UnshareFlags::NEWIPC | UnshareFlags::NEWUTS | UnshareFlags::NEWPID;
    if !network {
        flags |= UnshareFlags::NEWNET;
    }
    let uid = rustix::process::geteuid();
    if uid.is_root() {
        return (flags, None);
    }
    flags |= UnshareFlags::NEWUSER;
    let gid = rustix::process::getegid();
    (
        flags,
        Some((
            format!("0 {} 1\n", uid.as_raw()).into_bytes(),
            format!("0 {} 1\n", gid.as_raw()).into_bytes(),
        )),
    )
}

/// How [`run_script_as_root`] runs a script.
#[derive(Debug, Clone)]
pub struct RootScript<'a> {
    /// The directory the script works on.
    pub root: &'a Path,
    /// `true`: `root` becomes `/` (with `/dev`, `/proc`, `/sys` and the store at `/nix/store`
    /// mounted; mount points it lacks are created and removed again afterwards if still empty)
    /// and the script runs with `shell` from inside it (e.g. a store path's `bin/sh`).
    /// `false`: the script runs in the build sandbox (host `/usr`, `/bin`, ..., the store) with
    /// `root` mounted at `/build` as its working directory, with the host's bash.
    pub chroot: bool,
    /// The host directory of the store, mounted at `/nix/store`.
    pub store_dir: &'a Path,
    /// A scratch directory on the host (for the sandbox skeleton when not chrooted).
    pub scratch: &'a Path,
    /// The interpreter and its arguments, as seen inside; the script text is passed as the
    /// last argument (`sh -c SCRIPT`).
    pub shell: &'a [&'a str],
    pub script: &'a str,
    pub env: &'a [(&'a str, &'a str)],
}

/// Runs a script as root (uid 0 in a user namespace mapping the caller when makes is not root)
/// in private mount, IPC, UTS and network namespaces: what `runAsRoot` and `fakeRootCommands`
/// need, without a VM. Returns the script's output; its exit status is for the caller to check.
pub fn run_script_as_root(run: &RootScript) -> io::Result<std::process::Output> {
    let (flags, id_maps) = id_maps_and_flags(false);
    let mut created: Vec<std::path::PathBuf> = Vec::new();
    let skeleton;
    let sandbox = if run.chroot {
        let mut mounts = Vec::new();
        for (host, inside, readonly) in [
            ("/dev", "dev", false),
            ("/proc", "proc", false),
            ("/sys", "sys", true),
        ] {
            let dst = run.root.join(inside);
            if fs::symlink_metadata(&dst).is_err() {
                fs::create_dir_all(&dst)?;
                created.push(dst.clone());
            }
            mounts.push(BindMount {
                src: cstring(Path::new(host))?,
                dst: cstring(&dst)?,
                readonly,
            });
        }
        let store_inside = run.root.join("nix/store");
        for d in [run.root.join("nix"), store_inside.clone()] {
            if fs::symlink_metadata(&d).is_err() {
                fs::create_dir(&d)?;
                created.push(d);
            }
        }
        mounts.push(BindMount {
            src: cstring(run.store_dir)?,
            dst: cstring(&store_inside)?,
            readonly: false,
        });
        Sandbox {
            new_root: cstring(run.root)?,
            workdir: CString::from(c"/"),
            mounts,
            flags,
            readonly_best_effort: id_maps.is_some(),
            id_maps,
        }
    } else {
        skeleton = tempfile::Builder::new()
            .prefix("root-script-")
            .tempdir_in(run.scratch)?;
        let mut sb = Sandbox::prepare(skeleton.path(), run.store_dir, false)?;
        sb.mounts.push(BindMount {
            src: cstring(run.root)?,
            dst: cstring(&skeleton.path().join("build"))?,
            readonly: false,
        });
        sb
    };
    let mut cmd = Command::new(run.shell[0]);
    cmd.args(&run.shell[1..])
        .arg(run.script)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/homeless-shelter")
        .envs(run.env.iter().copied())
        .stdin(std::process::Stdio::null());
    sandbox.install(&mut cmd);
    let out = cmd.output();
    // Mount points made for the run go again (the mounts died with the child's namespace).
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    out
}

/// Remounts a bind mount read-only, keeping the flags the kernel would refuse to drop.
fn remount_readonly(target: &CStr) -> Result<(), Errno> {
    let current = rustix::fs::statvfs(target)?.f_flag;
    let mut flags = MountFlags::BIND | MountFlags::RDONLY;
    for (st, ms) in [
        (StatVfsMountFlags::NOSUID, MountFlags::NOSUID),
        (StatVfsMountFlags::NODEV, MountFlags::NODEV),
        (StatVfsMountFlags::NOEXEC, MountFlags::NOEXEC),
        (StatVfsMountFlags::NOATIME, MountFlags::NOATIME),
        (StatVfsMountFlags::NODIRATIME, MountFlags::NODIRATIME),
        (StatVfsMountFlags::RELATIME, MountFlags::RELATIME),
    ] {
        if current.contains(st) {
            flags |= ms;
        }
    }
    rustix::mount::mount_remount(target, flags, c"")
}

fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = rustix::fs::open(path, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty())?;
    let written = rustix::io::write(&fd, data)?;
    if written != data.len() {
        return Err(Errno::IO);
    }
    Ok(())
}

/// Reports a failed step on the child's stderr (the build log) and turns the error into the
/// `io::Error` the spawn returns. Does not allocate.
fn fail(step: &[u8], errno: Errno) -> io::Error {
    // SAFETY: fd 2 is open for the whole life of the child (std set it up before pre_exec).
    let stderr = unsafe { BorrowedFd::borrow_raw(2) };
    for part in [&b"makes sandbox: "[..], step, b" failed\n"] {
        let _ = rustix::io::write(stderr, part);
    }
    io::Error::from_raw_os_error(errno.raw_os_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_builds_the_skeleton() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        fs::create_dir(&root).expect("mkdir");
        let store = dir.path().join("store");
        fs::create_dir(&store).expect("mkdir");
        let sb = Sandbox::prepare(&root, &store, false).expect("prepare");
        assert!(sb.flags.contains(UnshareFlags::NEWNET));
        assert!(root.join("nix/store").is_dir());
        assert!(root.join("build").is_dir());
        // /usr always exists here; /bin is either a mount point or the host's symlink.
        assert!(root.join("usr").is_dir());
        let bin = fs::symlink_metadata(root.join("bin")).expect("bin");
        assert_eq!(
            bin.file_type().is_symlink(),
            fs::symlink_metadata("/bin")
                .expect("/bin")
                .file_type()
                .is_symlink()
        );
        let sb = Sandbox::prepare(&dir.path().join("root2"), &store, true);
        assert!(sb.is_err(), "the new root must exist");
    }
}
