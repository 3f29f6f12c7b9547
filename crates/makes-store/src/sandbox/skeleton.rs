//! The on-disk part of a sandbox root, made before `fork`: mount points for the host's
//! read-only system directories, a synthetic `/etc`, and the mount steps of a minimal `/dev`
//! (a tmpfs holding the harmless devices, a private devpts and `/dev/shm`), as Nix's sandbox
//! has them.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;

use super::{create_dir_with_mode, cstring, Step};

/// Host directories mirrored read-only (and nosuid, nodev) into the sandbox: builders run the
/// host's bash and tools. Nothing else of the host is visible.
const HOST_SYSTEM_DIRS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// The devices a build gets, bind-mounted from the host.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

/// Host files a fixed-output build (which keeps the network) also gets in its `/etc`, as Nix
/// gives them: name resolution and the CA bundle.
const NETWORK_ETC_FILES: &[(&str, &str)] = &[
    ("/etc/resolv.conf", "resolv.conf"),
    ("/etc/services", "services"),
    (
        "/etc/ssl/certs/ca-certificates.crt",
        "ssl/certs/ca-certificates.crt",
    ),
];

/// Host files of `/etc` that the host's tools need, bound read-only: the symlinks behind
/// them on Debian-style systems (`/usr/bin/awk` -> `/etc/alternatives/awk` ->
/// `/usr/bin/mawk`), and the dynamic linker's cache (libraries outside the default paths).
/// A bind costs one mount; copying the hundreds of links cost a quarter second per build.
const HOST_TOOL_FILES: &[&str] = &["/etc/alternatives", "/etc/ld.so.cache"];

/// Nix's sandbox `/etc/passwd`: root, the build user, nobody (whom unmapped ids show as).
const PASSWD: &str = "root:x:0:0:Nix build user:/build:/noshell\n\
nixbld:x:1000:100:Nix build user:/build:/noshell\n\
nobody:x:65534:65534:Nobody:/:/noshell\n";
const GROUP: &str = "root:x:0:\nnixbld:!:100:\nnogroup:x:65534:\n";
const HOSTS: &str = "127.0.0.1 localhost\n::1 localhost\n";

/// Makes the mount points of the host's system directories under `new_root` (or copies their
/// symlinks, on usr-merged systems) and returns the read-only binds for them.
pub(super) fn host_system_dirs(new_root: &Path, steps: &mut Vec<Step>) -> io::Result<()> {
    for dir in HOST_SYSTEM_DIRS {
        let host = Path::new(dir);
        let Ok(meta) = fs::symlink_metadata(host) else {
            continue;
        };
        let inside = new_root.join(dir.trim_start_matches('/'));
        if meta.file_type().is_symlink() {
            symlink(fs::read_link(host)?, &inside)?;
        } else if meta.is_dir() {
            fs::create_dir(&inside)?;
            steps.push(Step::Bind {
                src: cstring(host)?,
                dst: cstring(&inside)?,
                readonly: true,
            });
        }
    }
    Ok(())
}

/// Writes the synthetic `/etc` of a build at `new_root/etc` and the steps that bind the host's
/// [`HOST_TOOL_FILES`] into it; with `network`, copies of the host's name-resolution files and
/// CA bundle too (those it has).
pub(super) fn synthetic_etc(
    new_root: &Path,
    network: bool,
    steps: &mut Vec<Step>,
) -> io::Result<()> {
    let etc = new_root.join("etc");
    create_dir_with_mode(&etc, 0o755)?;
    let readable = |path: &Path| fs::set_permissions(path, fs::Permissions::from_mode(0o644));
    for (name, text) in [("passwd", PASSWD), ("group", GROUP), ("hosts", HOSTS)] {
        fs::write(etc.join(name), text)?;
        readable(&etc.join(name))?;
    }
    for host in HOST_TOOL_FILES {
        let host = Path::new(host);
        let (Ok(meta), Some(name)) = (fs::metadata(host), host.file_name()) else {
            continue;
        };
        let inside = etc.join(name);
        if meta.is_dir() {
            create_dir_with_mode(&inside, 0o755)?;
        } else {
            fs::File::create(&inside)?;
        }
        steps.push(Step::Bind {
            src: cstring(host)?,
            dst: cstring(&inside)?,
            readonly: true,
        });
    }
    if network {
        for (host, inside) in NETWORK_ETC_FILES {
            if !Path::new(host).is_file() {
                continue;
            }
            let dst = etc.join(inside);
            let mut dir = etc.clone();
            for part in Path::new(inside).parent().into_iter().flat_map(Path::iter) {
                dir.push(part);
                if !dir.exists() {
                    create_dir_with_mode(&dir, 0o755)?;
                }
            }
            // A copy, following symlinks (systemd's resolv.conf is one): the host's file
            // itself stays out of reach.
            fs::copy(host, &dst)?;
            readable(&dst)?;
        }
    }
    Ok(())
}

/// The steps that make a minimal `/dev` at `dev` (an existing directory): a tmpfs with the
/// devices of [`DEVICES`] bound from the host, a private devpts instance with `ptmx`, a tmpfs
/// `shm`, and the `fd`, `stdin`, `stdout`, `stderr` links.
pub(super) fn minimal_dev(dev: &Path, steps: &mut Vec<Step>) -> io::Result<()> {
    let c = |p: &Path| cstring(p);
    steps.push(Step::Tmpfs {
        dst: c(dev)?,
        options: CString::from(c"mode=0755,size=1m"),
    });
    for name in DEVICES {
        let host = Path::new("/dev").join(name);
        if fs::symlink_metadata(&host).is_err() {
            continue;
        }
        let inside = dev.join(name);
        steps.push(Step::Touch { path: c(&inside)? });
        steps.push(Step::Bind {
            src: c(&host)?,
            dst: c(&inside)?,
            readonly: false,
        });
    }
    let pts = dev.join("pts");
    steps.push(Step::Mkdir { path: c(&pts)? });
    steps.push(Step::Devpts { dst: c(&pts)? });
    steps.push(Step::Symlink {
        target: CString::from(c"pts/ptmx"),
        path: c(&dev.join("ptmx"))?,
    });
    let shm = dev.join("shm");
    steps.push(Step::Mkdir { path: c(&shm)? });
    steps.push(Step::Tmpfs {
        dst: c(&shm)?,
        options: CString::from(c"mode=1777"),
    });
    for (name, target) in [
        ("fd", c"/proc/self/fd"),
        ("stdin", c"/proc/self/fd/0"),
        ("stdout", c"/proc/self/fd/1"),
        ("stderr", c"/proc/self/fd/2"),
    ] {
        steps.push(Step::Symlink {
            target: CString::from(target),
            path: c(&dev.join(name))?,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn etc_holds_the_build_users_and_network_files_only_for_network_builds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        fs::create_dir(&a).expect("mkdir");
        fs::create_dir(&b).expect("mkdir");
        synthetic_etc(&a, false, &mut Vec::new()).expect("etc");
        synthetic_etc(&b, true, &mut Vec::new()).expect("etc");
        let passwd = fs::read_to_string(a.join("etc/passwd")).expect("passwd");
        assert!(passwd.contains("nixbld:x:1000:100:"));
        assert!(!a.join("etc/resolv.conf").exists());
        assert!(!a.join("etc/shadow").exists() && !b.join("etc/shadow").exists());
        assert_eq!(
            b.join("etc/services").exists(),
            Path::new("/etc/services").is_file()
        );
    }

    #[test]
    fn dev_has_only_the_listed_devices() {
        let mut steps = Vec::new();
        minimal_dev(Path::new("/x/dev"), &mut steps).expect("steps");
        for s in &steps {
            if let Step::Bind { src, .. } = s {
                let name = src.to_str().expect("utf-8");
                assert!(
                    DEVICES.iter().any(|d| name == format!("/dev/{d}")),
                    "{name}"
                );
            }
        }
    }
}
