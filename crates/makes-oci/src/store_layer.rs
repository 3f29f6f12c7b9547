//! Layers of store paths written as their trees are walked: no list of the layer's files is
//! built, so memory does not grow with the number of files (only with the width of one
//! directory, the depth of the tree, and the files with several hard links, whose first path
//! is remembered).
//!
//! The bytes are those [`crate::tar_writer::write_tar`] gives the same trees gathered with
//! `LayerEntries::add_tree`: entries in byte order of their whole archive paths. A directory's
//! children follow it only up to its next sibling that sorts between them: `a`, `a.c`, `a/b`
//! (`.` sorts before `/`). So the children of each directory are visited in the order of keys
//! that stand for a child itself (`name`) and, for a directory, for everything below it
//! (`name/`): every path below `name` starts with `name/`, and no sibling name holds a `/`.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fd::OwnedFd;
use rustix::fs as rfs;

use crate::error::OciError;
use crate::tar_writer::{
    entry_from_disk, EntryKind, HeaderPolicy, LayerEntry, ModePolicy, TarSink, TarStream,
    SYNTHESIZED_DIR_MODE,
};

/// One store path of a layer: where it is on disk, and its name in the archive
/// (`nix/store/<hash>-<name>`).
pub(crate) struct StoreTree<'a> {
    pub disk: &'a Path,
    pub archive: Vec<u8>,
}

/// Writes a layer of `trees` below the directories `parents` (`nix`, `nix/store`, mode 0755)
/// as a tar to `out`, with the store's modes.
pub(crate) fn write_store_layer<S: TarSink>(
    parents: &[&[u8]],
    trees: &mut [StoreTree<'_>],
    policy: &HeaderPolicy,
    out: S,
) -> Result<S, OciError> {
    let mut writer = StreamWriter {
        tar: TarStream::new(out, policy),
        keep_atime: true,
    };
    for parent in parents {
        let dir = LayerEntry::new(SYNTHESIZED_DIR_MODE, EntryKind::Directory);
        writer.append(parent, &dir, None)?;
    }
    // Store path names differ within their hash, so no one's tree sorts inside another's.
    trees.sort_by(|a, b| a.archive.cmp(&b.archive));
    for tree in trees.iter() {
        let mut archive = tree.archive.clone();
        writer.tree(tree.disk, &mut archive)?;
    }
    writer.tar.finish()
}

struct StreamWriter<'p, S: TarSink> {
    tar: TarStream<'p, S>,
    /// Whether entries are still opened without updating their access times (`O_NOATIME`,
    /// which only their owner may ask: refused once, not asked again).
    keep_atime: bool,
}

impl<S: TarSink> StreamWriter<'_, S> {
    /// The entry at `disk` (not followed) as `archive`, then, for a directory, what is below.
    /// Below the top, entries are reached from their directory's descriptor (`openat`,
    /// `readlinkat`): the kernel resolves one name per entry, not the whole path, and a file
    /// is opened once, its metadata read from the open file.
    fn tree(&mut self, disk: &Path, archive: &mut Vec<u8>) -> Result<(), OciError> {
        // Most store paths are directories: opened at once, they need no `lstat` of their own.
        match self.open_at(rfs::CWD, disk.as_os_str().as_bytes(), dir_flags()) {
            Ok(fd) => {
                self.append(archive, &store_dir_entry(), None)?;
                self.children(fd, disk, archive)
            }
            // A file, or a symlink (not followed).
            Err(rustix::io::Errno::NOTDIR | rustix::io::Errno::LOOP) => {
                let meta = fs::symlink_metadata(disk).map_err(OciError::io(disk))?;
                let entry = entry_from_disk(disk, &meta, ModePolicy::Store)?;
                self.append(archive, &entry, None)
            }
            Err(e) => Err(OciError::io(disk)(e.into())),
        }
    }

    /// The children of the directory open as `fd` (at `disk`), in the byte order of their
    /// archive paths.
    fn children(
        &mut self,
        fd: OwnedFd,
        disk: &Path,
        archive: &mut Vec<u8>,
    ) -> Result<(), OciError> {
        let io_err = |e: rustix::io::Errno| OciError::io(disk)(e.into());
        let mut dir = rfs::Dir::new(fd).map_err(io_err)?;
        let mut keys: Vec<(Vec<u8>, Vec<u8>, Visit)> = Vec::new();
        while let Some(child) = dir.read() {
            let child = child.map_err(io_err)?;
            let name = child.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = name.to_vec();
            let kind = match child.file_type() {
                // The listing does not say (some file systems do not): ask.
                rfs::FileType::Unknown => {
                    let dir_fd = dir.fd().map_err(io_err)?;
                    let stat = rfs::statat(dir_fd, name.as_slice(), rfs::AtFlags::SYMLINK_NOFOLLOW)
                        .map_err(|e| OciError::io(disk.join(OsStr::from_bytes(&name)))(e.into()))?;
                    rfs::FileType::from_raw_mode(stat.st_mode)
                }
                known => known,
            };
            if kind == rfs::FileType::Directory {
                let mut below = name.clone();
                below.push(b'/');
                keys.push((below, name.clone(), Visit::Below));
            }
            keys.push((name.clone(), name, Visit::Entry(kind)));
        }
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        let dir_fd = dir.fd().map_err(io_err)?;
        let parent_len = archive.len();
        for (_, name, visit) in keys {
            archive.push(b'/');
            archive.extend_from_slice(&name);
            let child = disk.join(OsStr::from_bytes(&name));
            match visit {
                Visit::Below => {
                    let fd = self
                        .open_at(dir_fd, name.as_slice(), dir_flags())
                        .map_err(|e| OciError::io(&child)(e.into()))?;
                    self.children(fd, &child, archive)?;
                }
                Visit::Entry(rfs::FileType::Directory) => {
                    self.append(archive, &store_dir_entry(), None)?;
                }
                Visit::Entry(rfs::FileType::RegularFile) => {
                    let fd = self
                        .open_at(dir_fd, name.as_slice(), file_flags())
                        .map_err(|e| OciError::io(&child)(e.into()))?;
                    let file = File::from(fd);
                    let meta = file.metadata().map_err(OciError::io(&child))?;
                    let entry = entry_from_disk(&child, &meta, ModePolicy::Store)?;
                    self.append(archive, &entry, Some(&file))?;
                }
                Visit::Entry(rfs::FileType::Symlink) => {
                    let target = rfs::readlinkat(dir_fd, name.as_slice(), Vec::new())
                        .map_err(|e| OciError::io(&child)(e.into()))?;
                    let entry = LayerEntry::new(
                        0o777,
                        EntryKind::Symlink {
                            target: target.into_bytes(),
                        },
                    );
                    self.append(archive, &entry, None)?;
                }
                Visit::Entry(_) => return Err(OciError::UnsupportedFileType { path: child }),
            }
            archive.truncate(parent_len);
        }
        Ok(())
    }

    /// Opens `name` at `dir_fd`, without updating its access time while the store's owner
    /// may ask that: a store path is read whole for every layer it is in, and the first read
    /// after it was made read-only would otherwise write each inode again.
    fn open_at(
        &mut self,
        dir_fd: impl rustix::fd::AsFd,
        name: &[u8],
        flags: rfs::OFlags,
    ) -> rustix::io::Result<OwnedFd> {
        if self.keep_atime {
            match rfs::openat(
                &dir_fd,
                name,
                flags | rfs::OFlags::NOATIME,
                rfs::Mode::empty(),
            ) {
                Err(rustix::io::Errno::PERM) => self.keep_atime = false,
                opened => return opened,
            }
        }
        rfs::openat(&dir_fd, name, flags, rfs::Mode::empty())
    }

    fn append(
        &mut self,
        path: &[u8],
        entry: &LayerEntry,
        opened: Option<&File>,
    ) -> Result<(), OciError> {
        self.tar.append(path, entry, opened)
    }
}

/// What a sort key of a directory's children stands for.
enum Visit {
    /// Everything below the child directory.
    Below,
    /// The child itself, of the type the listing gave.
    Entry(rfs::FileType),
}

/// A store directory's entry (the store's modes: read-only, searchable).
fn store_dir_entry() -> LayerEntry {
    LayerEntry::new(0o555, EntryKind::Directory)
}

fn dir_flags() -> rfs::OFlags {
    rfs::OFlags::RDONLY | rfs::OFlags::DIRECTORY | rfs::OFlags::NOFOLLOW | rfs::OFlags::CLOEXEC
}

/// A file opened for reading: never through a symlink, never blocking (were it replaced by a
/// fifo, its metadata says so and it is refused).
fn file_flags() -> rfs::OFlags {
    rfs::OFlags::RDONLY | rfs::OFlags::NOFOLLOW | rfs::OFlags::NONBLOCK | rfs::OFlags::CLOEXEC
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tar_writer::{write_layer_tar, LayerEntries};
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// A tree whose names sort across directory boundaries (`a`, `a.c`, `a-b`, `a/b`), with
    /// links, hard links, long names and modes.
    fn tricky_tree(root: &Path) {
        for d in ["a/b", "a/b.x/y", "a-b", "lib/python", "z"] {
            fs::create_dir_all(root.join(d)).expect("mkdir");
        }
        for f in [
            "a.c",
            "a/b/f",
            "a/b.x/y/g",
            "a/b0",
            "a-b/h",
            "lib/python.so",
            "ab",
        ] {
            fs::write(root.join(f), f.as_bytes()).expect("write");
        }
        let long = "n".repeat(130);
        fs::write(root.join("z").join(&long), b"long").expect("write");
        fs::hard_link(root.join("a.c"), root.join("z/hard")).expect("hard link");
        fs::hard_link(root.join("a.c"), root.join("a/b/hard")).expect("hard link");
        symlink("a.c", root.join("a/link")).expect("symlink");
        fs::set_permissions(root.join("ab"), fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    #[test]
    fn streamed_layers_are_the_gathered_ones_byte_for_byte() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (one, two, file) = (
            dir.path().join("one"),
            dir.path().join("two"),
            dir.path().join("file"),
        );
        tricky_tree(&one);
        tricky_tree(&two);
        fs::write(&file, b"a store path that is a file").expect("write");
        let names = [
            (&two, format!("nix/store/{}-two", "b".repeat(32))),
            (&one, format!("nix/store/{}-one", "a".repeat(32))),
            (&file, format!("nix/store/{}-f", "c".repeat(32))),
        ];
        let policy = crate::tar_writer::tests::policy();
        let mut gathered = LayerEntries::new();
        for d in [&b"nix"[..], b"nix/store"] {
            gathered
                .insert_dir_with_mode(d, SYNTHESIZED_DIR_MODE)
                .expect("dir");
        }
        for (disk, archive) in &names {
            gathered
                .add_tree(disk, archive.as_bytes(), ModePolicy::Store)
                .expect("tree");
        }
        let want = write_layer_tar(&gathered, &policy, Vec::new()).expect("gathered");
        let mut trees: Vec<StoreTree> = names
            .iter()
            .map(|(disk, archive)| StoreTree {
                disk: disk.as_path(),
                archive: archive.as_bytes().to_vec(),
            })
            .collect();
        let sink = crate::tar_writer::reading_sink(Vec::new());
        let streamed = write_store_layer(&[b"nix", b"nix/store"], &mut trees, &policy, sink)
            .expect("streamed")
            .into_inner();
        assert_eq!(streamed.len(), want.len());
        assert!(streamed == want, "same bytes");
    }

    #[test]
    fn writing_a_layer_leaves_the_access_times_of_its_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("bin")).expect("mkdir");
        let file = tree.join("bin/tool");
        fs::write(&file, b"contents").expect("write");
        // Read before modified: any read would update it (even under `relatime`).
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(10);
        let times = fs::FileTimes::new()
            .set_accessed(old)
            .set_modified(old + std::time::Duration::from_secs(10));
        File::options()
            .write(true)
            .open(&file)
            .and_then(|f| f.set_times(times))
            .expect("set times");
        let mut trees = [StoreTree {
            disk: &tree,
            archive: format!("nix/store/{}-tree", "a".repeat(32)).into_bytes(),
        }];
        let policy = crate::tar_writer::tests::policy();
        let sink = crate::tar_writer::reading_sink(Vec::new());
        let layer = write_store_layer(&[b"nix"], &mut trees, &policy, sink)
            .expect("written")
            .into_inner();
        assert!(
            layer.windows(8).any(|w| w == b"contents"),
            "the file was read"
        );
        let accessed = fs::metadata(&file)
            .and_then(|m| m.accessed())
            .expect("atime");
        assert_eq!(accessed, old);
    }

    #[test]
    fn an_unreadable_tree_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = dir.path().join("gone");
        let mut trees = [StoreTree {
            disk: &gone,
            archive: b"nix/store/x".to_vec(),
        }];
        let policy = crate::tar_writer::tests::policy();
        let sink = crate::tar_writer::reading_sink(Vec::new());
        match write_store_layer(&[b"nix"], &mut trees, &policy, sink) {
            Err(OciError::Io { path, .. }) => assert_eq!(path, gone),
            other => panic!("expected an I/O error naming the path: {:?}", other.is_ok()),
        }
    }
}
