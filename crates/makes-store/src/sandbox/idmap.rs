//! Idmapped mounts (Linux 5.12+): the image root handed to a script shows makes' ids as the
//! script's own (0 as the fake root's host base, or as the build user's host id) without
//! changing a file on disk, so what the script does not touch keeps its owner and ctime (the
//! layer over a base image holds only what changed). What the script writes lands on disk
//! with the ids it sees (`chown 1234` is 1234 on disk).
//!
//! The detached mount is made here, in makes (host root), before the sandbox's fork; the
//! sandbox attaches it. When the file system cannot be idmapped the caller shifts owners with
//! `chown` instead.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::CWD;
use rustix::mount::{open_tree, OpenTreeFlags};
use rustix::pipe::{pipe_with, PipeFlags};
use rustix::thread::UnshareFlags;

/// `MOUNT_ATTR_IDMAP` of `<linux/mount.h>`.
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// `struct mount_attr` of `<linux/mount.h>`.
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the tree at `root` whose ids go through `map` (a `uid_map` line, used
/// for uids and gids: on-disk id `inside` shows as host id `outside`). Needs root.
pub(super) fn idmapped_tree(root: &Path, map: &str) -> io::Result<OwnedFd> {
    let userns = user_namespace_with_map(map)?;
    let tree = open_tree(
        CWD,
        root,
        OpenTreeFlags::OPEN_TREE_CLONE
            | OpenTreeFlags::OPEN_TREE_CLOEXEC
            | OpenTreeFlags::AT_RECURSIVE,
    )?;
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        // A valid descriptor is never negative.
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: `attr` and the empty path outlive the call; the size is the struct's.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_RECURSIVE,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(tree)
}

/// A user namespace with `map` as uid and gid map, held by a descriptor: a child process
/// unshares it, makes writes its maps, opens it, and lets the child go.
fn user_namespace_with_map(map: &str) -> io::Result<OwnedFd> {
    let (ready_r, ready_w) = pipe_with(PipeFlags::CLOEXEC)?;
    let (done_r, done_w) = pipe_with(PipeFlags::CLOEXEC)?;
    // SAFETY: the child only makes system calls (unshare, write, read, close, _exit), which
    // are async-signal-safe even when makes has other threads.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        drop((ready_r, done_w));
        // SAFETY: single-threaded child, no FILES flag.
        let unshared = unsafe { rustix::thread::unshare_unsafe(UnshareFlags::NEWUSER) }.is_ok();
        let _ = rustix::io::write(&ready_w, if unshared { b"1" } else { b"0" });
        let mut byte = [0u8];
        let _ = rustix::io::read(&done_r, &mut byte);
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(0) }
    }
    drop((ready_w, done_r));
    let result = (|| {
        let mut byte = [0u8];
        if rustix::io::read(&ready_r, &mut byte)? != 1 || byte != *b"1" {
            return Err(io::Error::other("could not make a user namespace"));
        }
        for file in ["uid_map", "gid_map"] {
            std::fs::write(format!("/proc/{pid}/{file}"), map)?;
        }
        let ns = CString::new(format!("/proc/{pid}/ns/user")).map_err(io::Error::other)?;
        Ok(OwnedFd::from(File::open(
            ns.to_str().map_err(io::Error::other)?,
        )?))
    })();
    drop(done_w);
    let mut status = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn making_an_idmapped_tree_changes_nothing_on_disk() {
        if !rustix::process::geteuid().is_root() {
            eprintln!("note: skipping: idmapped mounts need root");
            return;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("f"), "x").expect("write");
        match idmapped_tree(dir.path(), "0 5000 100\n") {
            Ok(tree) => drop(tree),
            // Not every file system can be idmapped; the caller falls back to chown.
            Err(e) => eprintln!("note: no idmapped mount here: {e}"),
        }
        assert_eq!(
            std::fs::metadata(dir.path().join("f")).expect("stat").uid(),
            0,
            "nothing changes on disk"
        );
    }
}
