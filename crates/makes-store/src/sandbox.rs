//! The build sandbox, as strict as Nix's: the builder sees its input closure read-only at
//! `/nix/store`, its own output, a private `/build` and `/tmp`, the host's `/usr`, `/bin`,
//! `/lib*` read-only (it runs the host's bash), a synthetic `/etc`, a minimal `/dev`, and a
//! fresh `/proc` of its own PID namespace; no `/sys`, nothing else of the host. It runs in new
//! mount, IPC, UTS, PID (it is process 1: whatever it leaves running dies with it) and network
//! namespaces (fixed-output builds keep the network; the others get their own loopback, up,
//! as in Nix), as an unprivileged user inside a user namespace of its own even when makes is
//! root, without capabilities, with `PR_SET_NO_NEW_PRIVS` and a [seccomp filter](seccomp).
//!
//! Who runs inside ([`Identity`]):
//! - the build user, uid 1000 gid 100 inside. Makes as root: host uid and gid
//!   [`BUILD_USER_HOST_ID`]; the sandbox is set up as host root, the build process unshares
//!   its user namespace while still privileged (so hosts that forbid unprivileged user
//!   namespaces still build), its parent (host root, outside the PID namespace) writes the
//!   map, and the build process becomes 1000 and drops every capability. Makes as a user: an
//!   outer user namespace maps root to the caller (for the mounts), a nested one maps 1000 to
//!   that root.
//! - a fake root (`runAsRoot`, `fakeRootCommands`): uid 0 of a user namespace, never host
//!   root. Makes as root: ids 0..65536 map to the unprivileged host ids from
//!   [`FAKE_ROOT_HOST_BASE`] (written by the parent in the same way), so the script can `chown`
//!   to other ids. Makes as a user: one id, the caller.
//!
//! Everything that allocates is prepared before `fork`; the code that runs between `fork` and
//! `exec` ([`Sandbox::enter`]) only makes system calls on prepared data. If a step fails, it
//! writes the step's name to the child's stderr (the build log) and the spawn fails; builds
//! never fall back to running unsandboxed.

mod credentials;
mod idmap;
mod loopback;
mod mounts;
mod scripts;
mod seccomp;
mod skeleton;

pub use scripts::{run_script_as_build_user, run_script_as_root, RootScript};

use credentials::{
    become_namespace_user, drop_all_capabilities, write_child_maps, write_own_id_maps, Handshake,
};
use mounts::{attach, closure_path, run_step, Step};

use std::ffi::{CStr, CString};
use std::fs;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::thread::UnshareFlags;

/// Where the builder's private directory is, inside the sandbox.
pub(crate) const BUILD_DIR: &str = "/build";

/// The build user inside the sandbox, as Nix's sandbox shows it.
const BUILD_UID: u32 = 1000;
const BUILD_GID: u32 = 100;

/// When makes runs as root: the host uid and gid of the build user. The first id of Nix's
/// `auto-allocate-uids` range (`start-id`), far above any account's, so that nothing on the
/// host belongs to it.
pub const BUILD_USER_HOST_ID: u32 = 872_415_232;
/// How many ids a fake root has (0..65536 inside), as Nix gives a build with `uid-range`.
pub const FAKE_ROOT_ID_COUNT: u32 = 65_536;
/// When makes runs as root: the host id of the fake root's uid and gid 0 (the next range after
/// the build user's).
pub const FAKE_ROOT_HOST_BASE: u32 = BUILD_USER_HOST_ID + FAKE_ROOT_ID_COUNT;

/// Who runs in a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Identity {
    BuildUser,
    FakeRoot,
}

/// Whether makes runs as root (then it sets sandboxes up itself, without an outer user
/// namespace).
pub(crate) fn makes_is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// The host ids that own what the build user writes: [`BUILD_USER_HOST_ID`] as root, `None`
/// (the caller's own ids) otherwise.
pub(crate) fn build_user_host_id() -> Option<u32> {
    makes_is_root().then_some(BUILD_USER_HOST_ID)
}

/// How the process that runs the build enters its final user namespace.
enum InnerUser {
    /// Unshares a user namespace and maps its one id itself (makes is not root: the process
    /// is root of the outer namespace).
    SelfMapped { uid_map: Vec<u8>, gid_map: Vec<u8> },
    /// Makes as root: unshares a user namespace while still privileged (hosts that forbid
    /// unprivileged user namespaces allow this), whose maps the parent process (host root)
    /// writes (only a process privileged in the parent namespace may map other ids than its
    /// own, or a range), then becomes `uid` and `gid` of it.
    ParentMapped {
        uid_map: Vec<u8>,
        gid_map: Vec<u8>,
        uid: u32,
        gid: u32,
    },
}

/// What the set-up makes of the sandbox's store, at `/nix/store`.
pub(crate) enum StoreView<'a> {
    /// Only these paths of the store in `store_dir` (base names), each read-only, in a
    /// directory of the sandbox root the build user may write its output into.
    Closure {
        store_dir: &'a Path,
        paths: &'a [String],
    },
    /// The whole store, read-only.
    Whole(&'a Path),
    /// No store.
    Nothing,
}

/// A prepared sandbox: the skeleton of its root exists on disk, the rest is data for
/// [`Sandbox::enter`].
pub(crate) struct Sandbox {
    new_root: CString,
    /// Where the fresh `/proc` is mounted (before `pivot_root`).
    proc_dir: CString,
    /// The working directory inside the sandbox.
    workdir: CString,
    steps: Vec<Step>,
    /// A detached mount to attach as the new root (an [idmapped](idmap) image root) instead
    /// of binding the new root onto itself.
    root_tree: Option<OwnedFd>,
    flags: UnshareFlags,
    /// `Some((uid_map, gid_map))`: the outer user namespace mapping root to the caller, for
    /// the mounts (makes is not root).
    outer_maps: Option<(Vec<u8>, Vec<u8>)>,
    inner: InnerUser,
    drop_capabilities: bool,
    filter: seccomp::Filter,
}

/// Creates a directory with exactly `mode`, whatever the umask.
pub(crate) fn create_dir_with_mode(path: &Path, mode: u32) -> io::Result<()> {
    fs::create_dir(path)?;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

pub(crate) fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(io::Error::other)
}

impl Sandbox {
    /// Prepares the sandbox of a build at `new_root` (an empty directory): the host's system
    /// directories, a synthetic `/etc` (with the host's name resolution when `network`), a
    /// minimal `/dev`, mount points for `/proc`, the store as `store` says, and `/build` and
    /// `/tmp` (owned by the build user when it is `identity`).
    pub(crate) fn prepare(
        new_root: &Path,
        store: StoreView,
        network: bool,
        identity: Identity,
    ) -> io::Result<Self> {
        // Modes are set explicitly throughout: makes' umask must not lock the build user out.
        fs::set_permissions(new_root, fs::Permissions::from_mode(0o755))?;
        let mut steps = Vec::new();
        skeleton::host_system_dirs(new_root, &mut steps)?;
        skeleton::synthetic_etc(new_root, network, &mut steps)?;
        let dev = new_root.join("dev");
        fs::create_dir(&dev)?;
        skeleton::minimal_dev(&dev, &mut steps)?;
        fs::create_dir(new_root.join("proc"))?;
        let build = new_root.join("build");
        create_dir_with_mode(&build, 0o755)?;
        let tmp = new_root.join("tmp");
        create_dir_with_mode(&tmp, 0o1777)?;
        create_dir_with_mode(&new_root.join("nix"), 0o755)?;
        let store_inside = new_root.join("nix/store");
        create_dir_with_mode(&store_inside, 0o755)?;
        let mut writable = vec![build, tmp];
        match store {
            StoreView::Closure { store_dir, paths } => {
                // As Nix's: others may not delete what is not theirs.
                fs::set_permissions(&store_inside, fs::Permissions::from_mode(0o1775))?;
                writable.push(store_inside.clone());
                for name in paths {
                    closure_path(&store_dir.join(name), &store_inside.join(name), &mut steps)?;
                }
            }
            StoreView::Whole(store_dir) => steps.push(Step::Bind {
                src: cstring(store_dir)?,
                dst: cstring(&store_inside)?,
                readonly: true,
            }),
            StoreView::Nothing => {}
        }
        if let (Identity::BuildUser, Some(id)) = (identity, build_user_host_id()) {
            for dir in &writable {
                rustix::fs::chown(
                    dir,
                    Some(rustix::fs::Uid::from_raw(id)),
                    Some(rustix::fs::Gid::from_raw(id)),
                )?;
            }
        }
        Self::new(new_root, c"/build", steps, identity, network)
    }

    /// A sandbox of `new_root` (its mount points made) whose set-up runs `steps`, for
    /// `identity`, with a fresh `/proc` at `new_root/proc` and `workdir` as working directory.
    pub(crate) fn new(
        new_root: &Path,
        workdir: &CStr,
        steps: Vec<Step>,
        identity: Identity,
        network: bool,
    ) -> io::Result<Self> {
        let mut flags = UnshareFlags::NEWNS
            | UnshareFlags::NEWIPC
            | UnshareFlags::NEWUTS
            | UnshareFlags::NEWPID;
        if !network {
            flags |= UnshareFlags::NEWNET;
        }
        let root = makes_is_root();
        let outer_maps = if root {
            None
        } else {
            flags |= UnshareFlags::NEWUSER;
            let uid = rustix::process::geteuid().as_raw();
            let gid = rustix::process::getegid().as_raw();
            Some((
                format!("0 {uid} 1\n").into_bytes(),
                format!("0 {gid} 1\n").into_bytes(),
            ))
        };
        let one = |inside: u32, outside: u32| format!("{inside} {outside} 1\n").into_bytes();
        let inner = match (identity, root) {
            (Identity::BuildUser, true) => InnerUser::ParentMapped {
                uid_map: one(BUILD_UID, BUILD_USER_HOST_ID),
                gid_map: one(BUILD_GID, BUILD_USER_HOST_ID),
                uid: BUILD_UID,
                gid: BUILD_GID,
            },
            // Root of the outer namespace is the caller.
            (Identity::BuildUser, false) => InnerUser::SelfMapped {
                uid_map: one(BUILD_UID, 0),
                gid_map: one(BUILD_GID, 0),
            },
            (Identity::FakeRoot, true) => {
                let range = format!("0 {FAKE_ROOT_HOST_BASE} {FAKE_ROOT_ID_COUNT}\n").into_bytes();
                InnerUser::ParentMapped {
                    uid_map: range.clone(),
                    gid_map: range,
                    uid: 0,
                    gid: 0,
                }
            }
            (Identity::FakeRoot, false) => InnerUser::SelfMapped {
                uid_map: one(0, 0),
                gid_map: one(0, 0),
            },
        };
        Ok(Sandbox {
            new_root: cstring(new_root)?,
            proc_dir: cstring(&new_root.join("proc"))?,
            workdir: workdir.to_owned(),
            steps,
            root_tree: None,
            flags,
            outer_maps,
            inner,
            drop_capabilities: identity == Identity::BuildUser,
            filter: seccomp::Filter::new(),
        })
    }

    /// Makes the detached mount `tree` the new root (its mount point must be the new root).
    pub(crate) fn set_root_tree(&mut self, tree: OwnedFd) {
        self.root_tree = Some(tree);
    }

    /// Adds a step run after the prepared ones.
    pub(crate) fn push_step(&mut self, step: Step) {
        self.steps.push(step);
    }

    /// Makes `cmd` enter the sandbox between `fork` and `exec`. The command's program must be
    /// a path that exists inside the sandbox.
    pub(crate) fn install(self, cmd: &mut Command) {
        // SAFETY: `enter` only makes system calls on data prepared before the fork; it does
        // not allocate, lock or touch other threads' state.
        unsafe {
            cmd.pre_exec(move || self.enter());
        }
    }

    /// Runs in the child of makes (host root, or root of the outer user namespace): makes
    /// the namespaces and mounts, then forks the process that becomes process 1 of the new
    /// PID namespace and the build; this one stays outside and exits as that one does.
    fn enter(&self) -> io::Result<()> {
        use rustix::mount::{mount_bind_recursive, mount_change};

        set_parent_death_signal();
        let host_proc = match self.inner {
            InnerUser::ParentMapped { .. } => Some(
                rustix::fs::open(
                    c"/proc",
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .map_err(|e| fail(b"opening /proc", e))?,
            ),
            InnerUser::SelfMapped { .. } => None,
        };
        // SAFETY: we are the only thread of the freshly forked child, and no FILES flag is used.
        unsafe { rustix::thread::unshare_unsafe(self.flags) }.map_err(|e| fail(b"unshare", e))?;
        if let Some((uid_map, gid_map)) = &self.outer_maps {
            write_own_id_maps(uid_map, gid_map).map_err(|e| fail(b"outer id maps", e))?;
        }
        if self.flags.contains(UnshareFlags::NEWNET) {
            loopback::bring_up_loopback().map_err(|e| fail(b"bringing up lo", e))?;
        }
        // SAFETY: a plain system call on a constant buffer.
        if unsafe { libc::sethostname(c"localhost".as_ptr(), 9) } != 0 {
            return Err(fail(b"sethostname", last_errno()));
        }
        // Nothing we mount may propagate back to the host.
        mount_change(
            c"/",
            MountPropagationFlags::PRIVATE | MountPropagationFlags::REC,
        )
        .map_err(|e| fail(b"making / private", e))?;
        // pivot_root needs the new root to be a mount point.
        match &self.root_tree {
            Some(tree) => attach(tree, &self.new_root)?,
            None => mount_bind_recursive(self.new_root.as_c_str(), self.new_root.as_c_str())
                .map_err(|e| fail(b"binding the new root", e))?,
        }
        for step in &self.steps {
            run_step(step)?;
        }
        let handshake = match self.inner {
            InnerUser::ParentMapped { .. } => Some(Handshake::new()?),
            InnerUser::SelfMapped { .. } => None,
        };
        // SAFETY: fork is async-signal-safe; we are single-threaded.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(fail(b"fork", last_errno()));
        }
        if pid > 0 {
            self.supervise(pid, handshake, host_proc);
        }
        self.become_build(handshake)
    }

    /// The process outside the PID namespace: writes the build's id maps when it must, then
    /// waits for it and exits as it did. Never returns.
    fn supervise(
        &self,
        pid: libc::pid_t,
        handshake: Option<Handshake>,
        host_proc: Option<OwnedFd>,
    ) -> ! {
        if let (
            Some(handshake),
            Some(proc_fd),
            InnerUser::ParentMapped {
                uid_map, gid_map, ..
            },
        ) = (handshake, host_proc, &self.inner)
        {
            let Handshake {
                ready_r,
                ready_w,
                done_r,
                done_w,
            } = handshake;
            // Only the child's copies of its ends may remain, so that its death reads as EOF.
            drop((ready_w, done_r));
            let mut byte = [0u8];
            let mapped = match rustix::io::read(&ready_r, &mut byte) {
                Ok(1) => write_child_maps(proc_fd.as_fd(), pid, uid_map, gid_map),
                Ok(_) => Err(Errno::PIPE),
                Err(e) => Err(e),
            };
            match mapped {
                Ok(()) => {
                    let _ = rustix::io::write(&done_w, b"1");
                }
                Err(e) => {
                    let _ = fail(b"writing the fake root's id maps", e);
                    // SAFETY: plain system calls.
                    unsafe {
                        libc::kill(pid, libc::SIGKILL);
                    }
                }
            }
        }
        // The pipe std uses to learn that exec happened must not stay open here, or spawn
        // would wait for the whole build (and `output()` could deadlock on a full pipe).
        // SAFETY: a plain system call; fds 0-2 stay.
        unsafe {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        }
        let code = wait_for(pid);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(code) }
    }

    /// Process 1 of the new PID namespace: mounts its `/proc`, pivots into the new root,
    /// becomes the build's user, drops capabilities and privileges, installs the filter.
    fn become_build(&self, handshake: Option<Handshake>) -> io::Result<()> {
        use rustix::mount::unmount;
        use rustix::process::{chdir, pivot_root};

        set_parent_death_signal();
        rustix::mount::mount(
            c"proc",
            self.proc_dir.as_c_str(),
            c"proc",
            MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
            None,
        )
        .map_err(|e| fail(b"mounting /proc", e))?;
        chdir(self.new_root.as_c_str()).map_err(|e| fail(b"chdir to the new root", e))?;
        pivot_root(c".", c".").map_err(|e| fail(b"pivot_root", e))?;
        unmount(c".", UnmountFlags::DETACH).map_err(|e| fail(b"detaching the old root", e))?;
        chdir(self.workdir.as_c_str()).map_err(|e| fail(b"chdir to the working directory", e))?;

        match &self.inner {
            InnerUser::SelfMapped { uid_map, gid_map } => {
                // SAFETY: single-threaded, no FILES flag.
                unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER) }
                    .map_err(|e| fail(b"unshare user namespace", e))?;
                write_own_id_maps(uid_map, gid_map).map_err(|e| fail(b"id maps", e))?;
            }
            InnerUser::ParentMapped { uid, gid, .. } => {
                let Some(Handshake {
                    ready_r,
                    ready_w,
                    done_r,
                    done_w,
                }) = handshake
                else {
                    return Err(fail(b"handshake", Errno::INVAL));
                };
                drop((ready_r, done_w));
                // SAFETY: single-threaded, no FILES flag.
                unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER) }
                    .map_err(|e| fail(b"unshare user namespace", e))?;
                rustix::io::write(&ready_w, b"1").map_err(|e| fail(b"handshake", e))?;
                let mut byte = [0u8];
                if rustix::io::read(&done_r, &mut byte) != Ok(1) {
                    return Err(fail(b"waiting for the id maps", Errno::PIPE));
                }
                become_namespace_user(*uid, *gid)?;
            }
        }
        if self.drop_capabilities {
            drop_all_capabilities()?;
        } else {
            // SAFETY: plain prctl.
            unsafe {
                libc::prctl(
                    libc::PR_CAP_AMBIENT,
                    libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
                    0,
                    0,
                    0,
                );
            }
        }
        // Changing credentials cleared it.
        set_parent_death_signal();
        // SAFETY: plain prctl.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(fail(b"no_new_privs", last_errno()));
        }
        self.filter
            .install()
            .map_err(|e| fail(b"seccomp filter", e))?;
        rustix::process::umask(Mode::from_raw_mode(0o022));
        Ok(())
    }
}

/// Waits for `pid`; its exit code, or 128 + the signal that killed it.
fn wait_for(pid: libc::pid_t) -> i32 {
    let mut status = 0;
    // SAFETY: waitpid is async-signal-safe.
    unsafe {
        loop {
            let r = libc::waitpid(pid, &mut status, 0);
            if r == pid {
                break;
            }
            if r < 0 && *libc::__errno_location() != libc::EINTR {
                return 127;
            }
        }
    }
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    }
}

/// The calling process dies with its parent (best effort: the kernel clears it when
/// credentials change, so it is set again after).
fn set_parent_death_signal() {
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
}

fn last_errno() -> Errno {
    // 0 is no errno (rustix refuses it): a failure that left none is an I/O error.
    let raw = io::Error::last_os_error()
        .raw_os_error()
        .filter(|&e| e > 0)
        .unwrap_or(libc::EIO);
    Errno::from_raw_os_error(raw)
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
    use std::os::unix::fs::symlink;

    #[test]
    fn prepare_builds_the_skeleton() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        fs::create_dir(&root).expect("mkdir");
        let store = dir.path().join("store");
        fs::create_dir_all(store.join("aaa-dir")).expect("mkdir");
        fs::write(store.join("bbb-file"), "x").expect("write");
        symlink("aaa-dir", store.join("ccc-link")).expect("symlink");
        fs::create_dir(store.join("ddd-unrelated")).expect("mkdir");
        let paths = [
            "aaa-dir".to_owned(),
            "bbb-file".to_owned(),
            "ccc-link".to_owned(),
        ];
        let view = StoreView::Closure {
            store_dir: &store,
            paths: &paths,
        };
        let sb = Sandbox::prepare(&root, view, false, Identity::BuildUser).expect("prepare");
        assert!(sb.flags.contains(UnshareFlags::NEWNET));
        assert!(root.join("nix/store/aaa-dir").is_dir());
        assert!(root.join("nix/store/bbb-file").is_file());
        assert_eq!(
            fs::read_link(root.join("nix/store/ccc-link")).expect("link"),
            Path::new("aaa-dir")
        );
        assert!(!root.join("nix/store/ddd-unrelated").exists());
        for d in ["build", "tmp", "proc", "dev", "etc/passwd"] {
            assert!(root.join(d).exists(), "{d}");
        }
        for d in ["sys", "etc/shadow", "root", "home"] {
            assert!(!root.join(d).exists(), "{d}");
        }
        // The store paths are bound read-only.
        let ro: Vec<_> = sb
            .steps
            .iter()
            .filter_map(|s| match s {
                Step::Bind {
                    dst,
                    readonly: true,
                    ..
                } => Some(dst.to_string_lossy().into_owned()),
                _ => None,
            })
            .filter(|d| d.contains("/nix/store/"))
            .collect();
        assert_eq!(ro.len(), 2, "{ro:?}");
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
        let missing = Sandbox::prepare(
            &dir.path().join("root2"),
            StoreView::Nothing,
            true,
            Identity::BuildUser,
        );
        assert!(missing.is_err(), "the new root must exist");
    }
}
