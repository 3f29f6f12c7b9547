//! The image builder's scripts in the sandbox: `runAsRoot` and `fakeRootCommands` as a fake
//! root (uid 0 of a user namespace, never host root), `extraCommands` as the build user. The
//! same walls as a build: a fresh `/proc`, a minimal `/dev`, no host `/etc`, `/proc` or
//! `/sys`, the store read-only, no network, no capabilities outside the namespace,
//! `no_new_privs` and the seccomp filter.
//!
//! When makes is root the script's ids are unprivileged host ids, so the tree it works on must
//! show makes' files as the script's (for a fake root, ids 0..65536 as the ids from
//! [`FAKE_ROOT_HOST_BASE`](super::FAKE_ROOT_HOST_BASE) up), and what the script sets must be on
//! disk as it sees it (`chown 1234` is 1234 in the layer). An [idmapped mount](super::idmap)
//! of the tree does both without touching the disk; where the file system cannot be idmapped,
//! the owners are shifted with `chown` before the run and back after it (every file's ctime
//! then changes, so a layer over a base image holds more than what the script changed).

use std::ffi::CStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{
    create_dir_with_mode, cstring, idmap, makes_is_root, skeleton, Identity, Sandbox, Step,
    StoreView, BUILD_USER_HOST_ID, FAKE_ROOT_HOST_BASE, FAKE_ROOT_ID_COUNT,
};
use crate::build_log::{copy_capped, log_pipe, Copied, Tail, DEFAULT_MAX_LOG_BYTES};
use crate::fsutil::{shift_owners, IdShift};

/// How much of a script's output is kept for its error message.
const SCRIPT_OUTPUT_TAIL: usize = 64 << 10;

/// How [`run_script_as_root`] and [`run_script_as_build_user`] run a script.
#[derive(Debug, Clone)]
pub struct RootScript<'a> {
    /// The directory the script works on.
    pub root: &'a Path,
    /// `true` (fake root only): `root` becomes `/` (with a minimal `/dev`, a fresh `/proc` and
    /// the store read-only at `/nix/store`; mount points it lacks are created and removed
    /// again afterwards if still empty) and the script runs with `shell` from inside it (e.g.
    /// a store path's `bin/sh`). `false`: the script runs in the build sandbox (host `/usr`,
    /// `/bin`, ... read-only, the store read-only) with `root` mounted writable at `/build`,
    /// its working directory, with the host's bash.
    pub chroot: bool,
    /// The host directory of the store, mounted read-only at `/nix/store` (none if `None`).
    pub store_dir: Option<&'a Path>,
    /// A scratch directory on the host (for the sandbox skeleton when not chrooted).
    pub scratch: &'a Path,
    /// The interpreter and its arguments, as seen inside; the script text is passed as the
    /// last argument (`sh -c SCRIPT`).
    pub shell: &'a [&'a str],
    pub script: &'a str,
    pub env: &'a [(&'a str, &'a str)],
}

/// Runs a script as a fake root: what `runAsRoot` and `fakeRootCommands` need, without a VM.
/// Returns the script's status and the end of its output (stdout and stderr together, in
/// `stderr`); its exit status is for the caller to check.
pub fn run_script_as_root(run: &RootScript) -> io::Result<Output> {
    run_script(run, Identity::FakeRoot)
}

/// Runs a script as the build user (`extraCommands`), never chrooted.
pub fn run_script_as_build_user(run: &RootScript) -> io::Result<Output> {
    if run.chroot {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "only a fake root script runs chrooted",
        ));
    }
    run_script(run, Identity::BuildUser)
}

/// A test knob, read here only: `MAKES_SANDBOX_NO_IDMAP=1` makes scripts take the `chown`
/// fallback even where idmapped mounts work, so that the end-to-end tests cover the path old
/// kernels and some file systems take. Not a setting for users.
const NO_IDMAP_TEST_KNOB: &str = "MAKES_SANDBOX_NO_IDMAP";

fn idmapped_mounts_forbidden() -> bool {
    std::env::var_os(NO_IDMAP_TEST_KNOB).is_some_and(|v| v == "1")
}

/// The owner shift that gives makes' files to the script's host ids, when makes is root.
fn owner_shift(identity: Identity) -> Option<IdShift> {
    if !makes_is_root() {
        return None;
    }
    Some(match identity {
        Identity::FakeRoot => IdShift {
            from: 0,
            count: FAKE_ROOT_ID_COUNT,
            to: FAKE_ROOT_HOST_BASE,
        },
        Identity::BuildUser => IdShift {
            from: 0,
            count: 1,
            to: BUILD_USER_HOST_ID,
        },
    })
}

fn run_script(run: &RootScript, identity: Identity) -> io::Result<Output> {
    let mut created = Vec::new();
    let result = prepare_and_run(run, identity, &mut created);
    // Mount points made for the run go again (the mounts died with the child's namespace).
    for d in created.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    result
}

fn prepare_and_run(
    run: &RootScript,
    identity: Identity,
    created: &mut Vec<PathBuf>,
) -> io::Result<Output> {
    let shift = owner_shift(identity);
    // The idmapped tree, or None when the owners must be shifted on disk.
    let tree = shift
        .filter(|_| !idmapped_mounts_forbidden())
        .and_then(|s| {
            idmap::idmapped_tree(run.root, &format!("{} {} {}\n", s.from, s.to, s.count)).ok()
        });
    let disk_shift = if tree.is_some() { None } else { shift };
    let skeleton_dir;
    let sandbox = if run.chroot {
        let mut sandbox = chroot_sandbox(run, identity, created)?;
        if let Some(tree) = tree {
            sandbox.set_root_tree(tree);
        }
        sandbox
    } else {
        skeleton_dir = tempfile::Builder::new()
            .prefix("script-sandbox-")
            .tempdir_in(run.scratch)?;
        let store = match run.store_dir {
            Some(dir) => StoreView::Whole(dir),
            None => StoreView::Nothing,
        };
        let mut sandbox = Sandbox::prepare(skeleton_dir.path(), store, false, identity)?;
        let dst = cstring(&skeleton_dir.path().join("build"))?;
        sandbox.push_step(match tree {
            Some(tree) => Step::Attach { tree, dst },
            None => Step::Bind {
                src: cstring(run.root)?,
                dst,
                readonly: false,
            },
        });
        sandbox
    };
    if let Some(shift) = disk_shift {
        shift_owners(run.root, shift).map_err(io::Error::other)?;
    }
    let mut cmd = Command::new(run.shell[0]);
    cmd.args(&run.shell[1..])
        .arg(run.script)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/homeless-shelter")
        .envs(run.env.iter().copied())
        .stdin(Stdio::null());
    let out = run_with_capped_output(cmd, sandbox);
    if let Some(shift) = disk_shift {
        shift_owners(run.root, shift.reversed()).map_err(io::Error::other)?;
    }
    out
}

/// Runs `cmd` in `sandbox` with its stdout and stderr into one pipe, as a builder's: makes
/// keeps the last [`SCRIPT_OUTPUT_TAIL`] bytes (the `stderr` of the result; `stdout` is
/// empty), and a script that prints more than [`DEFAULT_MAX_LOG_BYTES`] is stopped.
fn run_with_capped_output(mut cmd: Command, sandbox: Sandbox) -> io::Result<Output> {
    let (read, write) = log_pipe()?;
    cmd.stdout(write.try_clone()?).stderr(write);
    sandbox.install(&mut cmd);
    let spawned = cmd.spawn();
    // Our copies of the write end go with the command: the pipe ends when the script does.
    drop(cmd);
    let mut tail = Tail::new(SCRIPT_OUTPUT_TAIL);
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) => {
            // What the sandbox's set-up said before it gave up.
            let _ = copy_capped(read, &mut tail, DEFAULT_MAX_LOG_BYTES, |_| {});
            let said = String::from_utf8_lossy(&tail.into_bytes())
                .trim()
                .to_owned();
            return Err(if said.is_empty() {
                e
            } else {
                io::Error::new(e.kind(), format!("{e}: {said}"))
            });
        }
    };
    let copied = copy_capped(read, &mut tail, DEFAULT_MAX_LOG_BYTES, |_| {});
    if !matches!(copied, Ok(Copied::Finished(_))) {
        // Killing the process outside the PID namespace ends everything inside.
        let _ = child.kill();
        let _ = child.wait();
    }
    match copied? {
        Copied::Finished(_) => {}
        Copied::OverLimit => {
            return Err(io::Error::other(format!(
                "log limit exceeded: the script printed more than {DEFAULT_MAX_LOG_BYTES} bytes"
            )))
        }
    }
    let status = child.wait()?;
    Ok(Output {
        status,
        stdout: Vec::new(),
        stderr: tail.into_bytes(),
    })
}

/// The sandbox whose root is the image root itself.
fn chroot_sandbox(
    run: &RootScript,
    identity: Identity,
    created: &mut Vec<PathBuf>,
) -> io::Result<Sandbox> {
    let mut steps = Vec::new();
    let dev = mount_point(run.root, "dev", created)?;
    skeleton::minimal_dev(&dev, &mut steps)?;
    mount_point(run.root, "proc", created)?;
    if let Some(store_dir) = run.store_dir {
        mount_point(run.root, "nix", created)?;
        let store = mount_point(run.root, "nix/store", created)?;
        steps.push(Step::Bind {
            src: cstring(store_dir)?,
            dst: cstring(&store)?,
            readonly: true,
        });
    }
    let workdir: &CStr = c"/";
    Sandbox::new(run.root, workdir, steps, identity, false)
}

/// The directory `rel` of the image root, created if missing. Anything else there (a symlink
/// above all, which would lead the mount out of the root) is an error.
fn mount_point(root: &Path, rel: &str, created: &mut Vec<PathBuf>) -> io::Result<PathBuf> {
    let path = root.join(rel);
    match fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => Ok(path),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "/{rel} in the image root is not a directory (a symlink?): the sandbox mounts \
                 its own there"
            ),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            create_dir_with_mode(&path, 0o755)?;
            created.push(path.clone());
            Ok(path)
        }
        Err(e) => Err(e),
    }
}
