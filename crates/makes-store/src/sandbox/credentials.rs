//! Who the build process becomes, between `fork` and `exec`: the user namespaces' id maps
//! (its own, or a child's written by the parent through a pipe handshake), the host id it
//! drops to, and the capabilities it gives up. System calls on prepared data only.

use std::ffi::CStr;
use std::io;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::{fail, last_errno, write_file};

/// The pipes of the id-map handshake between the build process and its parent: the child
/// writes `ready` once its user namespace exists, the parent writes `done` once it has written
/// the maps.
pub(super) struct Handshake {
    pub(super) ready_r: OwnedFd,
    pub(super) ready_w: OwnedFd,
    pub(super) done_r: OwnedFd,
    pub(super) done_w: OwnedFd,
}

impl Handshake {
    pub(super) fn new() -> io::Result<Self> {
        use rustix::pipe::{pipe_with, PipeFlags};
        let (ready_r, ready_w) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| fail(b"pipe", e))?;
        let (done_r, done_w) = pipe_with(PipeFlags::CLOEXEC).map_err(|e| fail(b"pipe", e))?;
        Ok(Handshake {
            ready_r,
            ready_w,
            done_r,
            done_w,
        })
    }
}

/// Becomes `uid` and `gid` of the user namespace just mapped, without supplementary groups.
/// Capabilities are left to [`drop_all_capabilities`] (a fake root keeps them, within its
/// namespace).
pub(super) fn become_namespace_user(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: plain system calls with integer arguments.
    unsafe {
        if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0 {
            return Err(fail(b"setgroups", last_errno()));
        }
        if libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0 {
            return Err(fail(b"setresgid", last_errno()));
        }
        if libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0 {
            return Err(fail(b"setresuid", last_errno()));
        }
    }
    Ok(())
}

/// `struct __user_cap_header_struct` and `__user_cap_data_struct` (version 3: two of them).
#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}
#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

/// Drops every capability: the bounding set first (which needs `CAP_SETPCAP`), the ambient
/// set, then the effective, permitted and inheritable sets.
pub(super) fn drop_all_capabilities() -> io::Result<()> {
    // SAFETY: plain system calls on local data.
    unsafe {
        for cap in 0..64 {
            if libc::prctl(libc::PR_CAPBSET_DROP, cap, 0, 0, 0) != 0
                && *libc::__errno_location() != libc::EINVAL
            {
                return Err(fail(b"dropping the bounding set", last_errno()));
            }
        }
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
        {
            return Err(fail(b"clearing the ambient set", last_errno()));
        }
        let header = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let data = [CapData {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(libc::SYS_capset, &header, data.as_ptr()) != 0 {
            return Err(fail(b"capset", last_errno()));
        }
    }
    Ok(())
}

/// Writes `deny` to the calling process's `setgroups` (which an unprivileged map requires),
/// then its uid and gid maps.
pub(super) fn write_own_id_maps(uid_map: &[u8], gid_map: &[u8]) -> Result<(), Errno> {
    write_file(c"/proc/self/setgroups", b"deny")?;
    write_file(c"/proc/self/uid_map", uid_map)?;
    write_file(c"/proc/self/gid_map", gid_map)
}

/// Writes the maps of the child `pid` through the host's `/proc` (opened as `proc_fd`).
pub(super) fn write_child_maps(
    proc_fd: BorrowedFd,
    pid: libc::pid_t,
    uid_map: &[u8],
    gid_map: &[u8],
) -> Result<(), Errno> {
    for (file, map) in [(&b"/uid_map\0"[..], uid_map), (&b"/gid_map\0"[..], gid_map)] {
        let mut buf = [0u8; 40];
        let len = pid_path(&mut buf, pid, file);
        let path = CStr::from_bytes_with_nul(&buf[..len]).map_err(|_| Errno::INVAL)?;
        let fd = rustix::fs::openat(
            proc_fd,
            path,
            OFlags::WRONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        if rustix::io::write(&fd, map)? != map.len() {
            return Err(Errno::IO);
        }
    }
    Ok(())
}

/// Writes `<pid><suffix>` into `buf` (the suffix ends with its NUL); returns the length.
fn pid_path(buf: &mut [u8; 40], pid: libc::pid_t, suffix: &[u8]) -> usize {
    let mut digits = [0u8; 12];
    let mut n = pid.unsigned_abs();
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let number = &digits[i..];
    buf[..number.len()].copy_from_slice(number);
    buf[number.len()..number.len() + suffix.len()].copy_from_slice(suffix);
    number.len() + suffix.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_paths_are_written_without_allocating() {
        let mut buf = [0u8; 40];
        let len = pid_path(&mut buf, 4_194_304, b"/uid_map\0");
        assert_eq!(&buf[..len], b"4194304/uid_map\0");
        let len = pid_path(&mut buf, 7, b"/gid_map\0");
        assert_eq!(&buf[..len], b"7/gid_map\0");
    }
}
