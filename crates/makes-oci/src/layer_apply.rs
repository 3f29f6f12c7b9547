//! Applies one base-image layer (an uncompressed tar stream) to a [`ConfinedRoot`], as
//! containerd's `archive.Apply` does, but with every path resolved inside the root:
//!
//! - names are cleaned lexically first (`a/../b` is `b`, a leading `..` stops at the root),
//!   then their directory is resolved in the root, symlinks included, as if the root were `/`;
//!   the entry itself is created, replaced or removed relative to that directory's fd, never
//!   through a symlink; the root entry itself (`./`) is skipped, as containerd skips it;
//! - `.wh.NAME` removes NAME, `.wh..wh..opq` empties its directory (except what this layer put
//!   there); a whiteout of nothing, `.` or `..` is an invalid image, as containerd says;
//!   top-level `.wh..wh.*` entries (AUFS metadata) are skipped, as Docker skips them;
//! - hard links point at entries resolved in the root too; device nodes and fifos become empty
//!   files, as umoci's rootless unpack makes devices (the layer writer takes no other kind, and
//!   the base's own layer keeps the real node); other entry types are refused;
//! - ownership is applied only when running as root; as another user, directories keep
//!   `u+rwx` so that later entries can go into them.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;

use rustix::fs::{AtFlags, FileType, Gid, Mode, OFlags, Timespec, Timestamps, Uid};

use crate::confined_root::{clear_dir, kind_at, open_dir_at, remove_at, ConfinedRoot};

const WHITEOUT: &[u8] = b".wh.";
const OPAQUE: &[u8] = b".wh..wh..opq";
const AUFS_META: &[u8] = b".wh..wh.";

/// Why a layer could not be applied: the entry (as the layer names it) and what went wrong.
#[derive(Debug)]
pub(crate) struct ApplyError {
    pub entry: String,
    pub reason: String,
}

impl ApplyError {
    fn new(entry: &[u8], reason: impl ToString) -> ApplyError {
        ApplyError {
            entry: String::from_utf8_lossy(entry).into_owned(),
            reason: reason.to_string(),
        }
    }
}

/// The components of a layer path cleaned lexically as Go's `filepath.Clean` does, a leading
/// `..` dropped as containerd's resolution in the root drops it. Empty for the root itself.
pub(crate) fn clean_components(path: &[u8]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            _ => out.push(part),
        }
    }
    out
}

/// Applies the tar stream `layer` to `root`.
pub(crate) fn apply_layer(root: &ConfinedRoot, layer: impl Read) -> Result<(), ApplyError> {
    let as_root = rustix::process::geteuid().is_root();
    let mut archive = tar::Archive::new(layer);
    // Entries this layer made, by (directory inode, name): an opaque marker keeps them.
    let mut made: BTreeSet<(u64, Vec<u8>)> = BTreeSet::new();
    let entries = archive
        .entries()
        .map_err(|e| ApplyError::new(b"", format!("not a tar stream: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| ApplyError::new(b"", format!("unreadable tar: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let components = clean_components(&raw);
        let Some((name, parents)) = components.split_last() else {
            continue;
        };
        let fail = |e: io::Error| ApplyError::new(&raw, e);
        if components.len() == 1 && name.starts_with(AUFS_META) && *name != OPAQUE {
            continue;
        }
        if *name == OPAQUE {
            if let Some(dir) = root.resolve_dir(parents, false).map_err(fail)? {
                let ino = rustix::fs::fstat(&dir).map_err(|e| fail(e.into()))?.st_ino;
                clear_dir(dir, &|n| made.contains(&(ino, n.to_vec()))).map_err(fail)?;
            }
            continue;
        }
        if let Some(hidden) = name.strip_prefix(WHITEOUT) {
            if matches!(hidden, b"" | b"." | b"..") {
                return Err(ApplyError::new(&raw, "invalid whiteout name"));
            }
            if let Some(dir) = root.resolve_dir(parents, false).map_err(fail)? {
                remove_at(dir.as_fd(), hidden).map_err(fail)?;
            }
            continue;
        }
        let dir = root
            .resolve_dir(parents, true)
            .map_err(fail)?
            .ok_or_else(|| fail(io::ErrorKind::NotFound.into()))?;
        let header = entry.header();
        // An empty numeric field reads as 0, as Go's archive/tar (containerd, Docker) reads it.
        let meta = Meta {
            mode: header.mode().unwrap_or(0) & 0o7777,
            uid: header.uid().unwrap_or(0),
            gid: header.gid().unwrap_or(0),
            mtime: header.mtime().unwrap_or(0),
            as_root,
        };
        let kind = header.entry_type();
        let link = entry.link_name_bytes().map(|l| l.into_owned());
        match kind {
            tar::EntryType::Directory => make_dir(&dir, name, &meta),
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                make_file(&dir, name, &meta, &mut entry)
            }
            tar::EntryType::Symlink => match &link {
                Some(target) if !target.is_empty() => make_symlink(&dir, name, target, &meta),
                _ => return Err(ApplyError::new(&raw, "symlink without a target")),
            },
            tar::EntryType::Link => match &link {
                Some(target) => {
                    make_hard_link(root, &dir, name, target).map_err(|e| {
                        ApplyError::new(
                            &raw,
                            format!("hard link to {}: {e}", String::from_utf8_lossy(target)),
                        )
                    })?;
                    Ok(())
                }
                None => return Err(ApplyError::new(&raw, "hard link without a target")),
            },
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                make_file(&dir, name, &meta, &mut io::empty())
            }
            other => {
                return Err(ApplyError::new(
                    &raw,
                    format!("unsupported entry type {other:?}"),
                ))
            }
        }
        .map_err(fail)?;
        let ino = rustix::fs::fstat(&dir).map_err(|e| fail(e.into()))?.st_ino;
        made.insert((ino, name.to_vec()));
    }
    Ok(())
}

/// An entry's metadata from its header.
struct Meta {
    mode: u32,
    uid: u64,
    gid: u64,
    mtime: u64,
    as_root: bool,
}

impl Meta {
    fn times(&self) -> Timestamps {
        let at = Timespec {
            tv_sec: i64::try_from(self.mtime).unwrap_or(i64::MAX),
            tv_nsec: 0,
        };
        Timestamps {
            last_access: at,
            last_modification: at,
        }
    }

    fn owner(&self) -> (Option<Uid>, Option<Gid>) {
        // Ids beyond 32 bits cannot be set; such an entry keeps the unpacker's.
        let uid = u32::try_from(self.uid).ok().map(Uid::from_raw);
        let gid = u32::try_from(self.gid).ok().map(Gid::from_raw);
        (uid, gid)
    }

    /// Owner, then mode (a chown clears setuid bits), then times, on an open file or directory.
    fn apply_to(&self, fd: &OwnedFd, dir_mode: bool) -> io::Result<()> {
        if self.as_root {
            let (uid, gid) = self.owner();
            rustix::fs::fchown(fd, uid, gid)?;
        }
        let mode = if dir_mode && !self.as_root {
            self.mode | 0o700
        } else {
            self.mode
        };
        rustix::fs::fchmod(fd, Mode::from_raw_mode(mode))?;
        rustix::fs::futimens(fd, &self.times())?;
        Ok(())
    }
}

fn name_os(name: &[u8]) -> &std::ffi::OsStr {
    std::ffi::OsStr::from_bytes(name)
}

fn make_dir(dir: &OwnedFd, name: &[u8], meta: &Meta) -> io::Result<()> {
    // A directory over a directory merges; over anything else it takes its place.
    if kind_at(dir, name)? != Some(FileType::Directory) {
        remove_at(dir.as_fd(), name)?;
        rustix::fs::mkdirat(dir, name_os(name), Mode::from_raw_mode(0o700))?;
    }
    let fd = open_dir_at(dir, name)?;
    meta.apply_to(&fd, true)
}

fn make_file(dir: &OwnedFd, name: &[u8], meta: &Meta, data: &mut dyn Read) -> io::Result<()> {
    remove_at(dir.as_fd(), name)?;
    let fd = rustix::fs::openat(
        dir,
        name_os(name),
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut file = File::from(fd);
    io::copy(data, &mut file)?;
    let fd = OwnedFd::from(file);
    meta.apply_to(&fd, false)
}

fn make_symlink(dir: &OwnedFd, name: &[u8], target: &[u8], meta: &Meta) -> io::Result<()> {
    remove_at(dir.as_fd(), name)?;
    rustix::fs::symlinkat(name_os(target), dir, name_os(name))?;
    if meta.as_root {
        let (uid, gid) = meta.owner();
        rustix::fs::chownat(dir, name_os(name), uid, gid, AtFlags::SYMLINK_NOFOLLOW)?;
    }
    rustix::fs::utimensat(dir, name_os(name), &meta.times(), AtFlags::SYMLINK_NOFOLLOW)?;
    Ok(())
}

/// A hard link to `target`, an entry of the root: its directory is resolved in the root, and
/// the link is made to the entry itself (a symlink is not followed), as containerd makes it.
fn make_hard_link(
    root: &ConfinedRoot,
    dir: &OwnedFd,
    name: &[u8],
    target: &[u8],
) -> io::Result<()> {
    let components = clean_components(target);
    let Some((target_name, target_parents)) = components.split_last() else {
        return Err(io::Error::other("the target is the root"));
    };
    let target_dir: OwnedFd = root
        .resolve_dir(target_parents, false)?
        .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))?;
    if kind_at(&target_dir, target_name)?.is_none() {
        return Err(io::ErrorKind::NotFound.into());
    }
    if same_entry(target_dir.as_fd(), target_name, dir.as_fd(), name)? {
        return Ok(());
    }
    remove_at(dir.as_fd(), name)?;
    rustix::fs::linkat(
        &target_dir,
        name_os(target_name),
        dir,
        name_os(name),
        AtFlags::empty(),
    )?;
    Ok(())
}

/// Whether two names are the same directory entry (a hard link to itself is a no-op).
fn same_entry(
    a_dir: BorrowedFd<'_>,
    a: &[u8],
    b_dir: BorrowedFd<'_>,
    b: &[u8],
) -> io::Result<bool> {
    let a_stat = rustix::fs::fstat(a_dir)?;
    let b_stat = rustix::fs::fstat(b_dir)?;
    Ok(a == b && a_stat.st_ino == b_stat.st_ino && a_stat.st_dev == b_stat.st_dev)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    /// A tar of `entries`: (path, kind, data or link target).
    fn layer(entries: &[(&str, tar::EntryType, &str)]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(if kind.is_dir() { 0o755 } else { 0o644 });
            header.set_mtime(1000);
            header.set_uid(0);
            header.set_gid(0);
            let body: &[u8] = if matches!(kind, tar::EntryType::Regular) {
                data.as_bytes()
            } else {
                b""
            };
            header.set_size(body.len() as u64);
            // Raw names, as a hostile layer writes them (the builder's own checks refuse `..`).
            let name = header.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            if matches!(kind, tar::EntryType::Symlink | tar::EntryType::Link) {
                let link = header.as_old_mut().linkname.as_mut();
                link[..data.len()].copy_from_slice(data.as_bytes());
            }
            header.set_cksum();
            builder.append(&header, body).unwrap();
        }
        builder.into_inner().unwrap()
    }

    use tar::EntryType::{Directory as D, Fifo, Link as H, Regular as F, Symlink as S};

    /// A host victim directory beside the root, with a file and a subdirectory.
    struct Scene {
        _dir: tempfile::TempDir,
        root: std::path::PathBuf,
        victim: std::path::PathBuf,
    }

    impl Scene {
        fn new() -> Scene {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("a/b/root");
            let victim = dir.path().join("victim");
            fs::create_dir_all(&root).unwrap();
            fs::create_dir_all(victim.join("sub")).unwrap();
            fs::write(victim.join("file"), "precious").unwrap();
            fs::write(victim.join("sub/inner"), "precious too").unwrap();
            Scene {
                _dir: dir,
                root,
                victim,
            }
        }

        fn apply(&self, layers: &[Vec<u8>]) -> Result<(), ApplyError> {
            let root = ConfinedRoot::open(&self.root).unwrap();
            for l in layers {
                apply_layer(&root, l.as_slice())?;
            }
            Ok(())
        }

        fn assert_victim_intact(&self) {
            assert_eq!(
                fs::read_to_string(self.victim.join("file")).unwrap(),
                "precious"
            );
            assert_eq!(
                fs::read_to_string(self.victim.join("sub/inner")).unwrap(),
                "precious too"
            );
            assert_eq!(fs::read_dir(&self.victim).unwrap().count(), 2);
        }

        fn evil_layers(&self, second: &[(&str, tar::EntryType, &str)]) -> Vec<Vec<u8>> {
            let victim = self.victim.to_str().unwrap();
            vec![
                layer(&[("evil", S, victim), ("up", S, "../../../../../../../../..")]),
                layer(second),
            ]
        }
    }

    fn in_root(root: &Path, host: &Path) -> std::path::PathBuf {
        root.join(host.strip_prefix("/").unwrap())
    }

    #[test]
    fn whiteouts_through_a_symlink_stay_in_the_root() {
        let s = Scene::new();
        s.apply(&s.evil_layers(&[
            ("evil/.wh.file", F, ""),
            ("evil/.wh.sub", F, ""),
            ("up/.wh.victim", F, ""),
        ]))
        .unwrap();
        s.assert_victim_intact();
    }

    #[test]
    fn an_opaque_marker_through_a_symlink_stays_in_the_root() {
        let s = Scene::new();
        s.apply(&s.evil_layers(&[("evil/.wh..wh..opq", F, "")]))
            .unwrap();
        s.assert_victim_intact();
        assert!(s.root.join("evil").is_symlink());
    }

    #[test]
    fn whiteouts_of_nothing_dot_or_dot_dot_are_invalid() {
        for bad in ["evil/.wh...", "evil/.wh..", "evil/.wh.", "x/.wh..."] {
            let s = Scene::new();
            let err = s.apply(&s.evil_layers(&[(bad, F, "")])).unwrap_err();
            assert_eq!(err.entry, bad);
            assert!(err.reason.contains("invalid whiteout"), "{err:?}");
            s.assert_victim_intact();
        }
    }

    #[test]
    fn files_and_directories_through_a_symlink_land_in_the_root() {
        let s = Scene::new();
        s.apply(&s.evil_layers(&[
            ("evil/sub", F, "replaced"),
            ("evil/file/", D, ""),
            ("evil/new", F, "new"),
            ("up/victim/sub", F, "replaced"),
        ]))
        .unwrap();
        s.assert_victim_intact();
        let inside = in_root(&s.root, &s.victim);
        assert_eq!(fs::read_to_string(inside.join("sub")).unwrap(), "replaced");
        assert!(inside.join("file").is_dir());
        assert_eq!(fs::read_to_string(inside.join("new")).unwrap(), "new");
    }

    #[test]
    fn dot_dot_names_stop_at_the_root() {
        let s = Scene::new();
        s.apply(&s.evil_layers(&[
            ("evil/../../victim/.wh.file", F, ""),
            ("/../victim/.wh.sub", F, ""),
            ("../../victim/file", F, "clobbered"),
        ]))
        .unwrap();
        s.assert_victim_intact();
        assert_eq!(
            fs::read_to_string(s.root.join("victim/file")).unwrap(),
            "clobbered"
        );
    }

    #[test]
    fn hard_links_resolve_their_target_in_the_root() {
        let s = Scene::new();
        // The target does not exist inside the root: refused, nothing linked to the host.
        let err = s
            .apply(&s.evil_layers(&[("stolen", H, "evil/file")]))
            .unwrap_err();
        assert!(err.reason.contains("hard link"), "{err:?}");
        let victim = s.victim.join("file");
        assert_eq!(fs::metadata(&victim).unwrap().nlink(), 1);
        // An honest hard link works.
        let s = Scene::new();
        s.apply(&[layer(&[("a", F, "data"), ("b", H, "a"), ("./c", H, "/a")])])
            .unwrap();
        assert_eq!(fs::metadata(s.root.join("a")).unwrap().nlink(), 3);
    }

    #[test]
    fn an_opaque_directory_keeps_what_its_own_layer_put_there() {
        let s = Scene::new();
        s.apply(&[
            layer(&[("d/", D, ""), ("d/old", F, "old")]),
            layer(&[
                ("d/", D, ""),
                ("d/new", F, "new"),
                ("d/.wh..wh..opq", F, ""),
            ]),
        ])
        .unwrap();
        assert!(!s.root.join("d/old").exists());
        assert_eq!(fs::read_to_string(s.root.join("d/new")).unwrap(), "new");
    }

    #[test]
    fn fifos_become_empty_files_and_the_root_entry_is_skipped() {
        let s = Scene::new();
        s.apply(&[layer(&[("./", D, ""), ("pipe", Fifo, "")])])
            .unwrap();
        let meta = fs::symlink_metadata(s.root.join("pipe")).unwrap();
        assert!(meta.is_file() && meta.len() == 0);
    }

    #[test]
    fn a_file_replaces_a_symlink_instead_of_writing_through_it() {
        let s = Scene::new();
        let victim = s.victim.join("file");
        s.apply(&[layer(&[
            ("link", S, victim.to_str().unwrap()),
            ("link", F, "mine"),
        ])])
        .unwrap();
        s.assert_victim_intact();
        assert_eq!(fs::read_to_string(s.root.join("link")).unwrap(), "mine");
    }

    #[test]
    fn cleaning_follows_go_filepath_clean_with_the_root_as_floor() {
        let c = |p: &str| -> Vec<String> {
            clean_components(p.as_bytes())
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect()
        };
        assert_eq!(c("./a//b/./c/"), ["a", "b", "c"]);
        assert_eq!(c("../../x"), ["x"]);
        assert_eq!(c("a/../../b"), ["b"]);
        assert!(c("./").is_empty() && c("..").is_empty());
    }
}
