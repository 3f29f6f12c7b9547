//! The loopback interface of a build's private network namespace, up as in Nix's sandbox:
//! a builder may serve on 127.0.0.1 to itself (makes' `makeNodeJsModules` runs a local npm
//! registry), while nothing outside the namespace is reachable.

use rustix::io::Errno;

/// Brings up `lo` of the current network namespace. Runs between `fork` and `exec`: system
/// calls on a request on the stack only, no allocation.
pub(super) fn bring_up_loopback() -> Result<(), Errno> {
    // SAFETY: plain system calls; `request` is a zeroed plain-data struct on our stack that
    // outlives the ioctl, and the socket is closed on every path.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(super::last_errno());
        }
        let mut request: libc::ifreq = std::mem::zeroed();
        for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
            *slot = *byte as libc::c_char;
        }
        request.ifr_ifru.ifru_flags =
            (libc::IFF_UP | libc::IFF_LOOPBACK | libc::IFF_RUNNING) as libc::c_short;
        let result = libc::ioctl(fd, libc::SIOCSIFFLAGS, &request);
        // errno only means something after a failure (it may be 0 after a success).
        let errno = (result != 0).then(super::last_errno);
        libc::close(fd);
        if let Some(errno) = errno {
            return Err(errno);
        }
    }
    Ok(())
}
