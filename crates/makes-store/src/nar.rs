//! NAR ("Nix ARchive") serialisation, byte-identical to `nix-store --dump`
//! (`src/libutil/archive.cc`, `dumpPath`).
//!
//! A NAR is a sequence of strings, each a little-endian `u64` length, the bytes, and zero
//! padding to a multiple of 8. Only what Nix keeps is written: file contents, the executable
//! bit (owner `x`, as Nix tests `S_IXUSR`), symlink targets, and directory entries sorted by
//! the bytes of their names. Owners, times and other modes are not part of it, which is what
//! makes the NAR hash a content hash.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{io_err, Result, StoreError};

/// Writes the NAR serialisation of `path` (not following a top-level symlink) to `out`.
/// File contents are streamed, never held whole in memory.
pub fn write_nar(path: &Path, out: &mut impl Write) -> Result<()> {
    write_nar_filtered(path, out, &|_| true)
}

/// Like [`write_nar`], leaving out every entry below `path` for which `keep` is false (and
/// everything under it), as `builtins.path { filter; }` does. `path` itself is always kept.
pub fn write_nar_filtered(
    path: &Path,
    out: &mut impl Write,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<()> {
    let mut w = NarWriter { out, keep };
    w.str(path, b"nix-archive-1")?;
    w.node(path, None)
}

/// Copies the tree `src` (filtered by `keep`) to `dst`, which must not exist, and returns the
/// SHA-256 and size of the NAR of what was copied: one read of the source for both (files
/// get mode 0755 or 0644 by their owner's `x` bit, for canonicalisation to finish).
pub fn copy_with_nar_hash(
    src: &Path,
    dst: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<([u8; 32], u64)> {
    let mut sink = HashingWriter::default();
    let mut w = NarWriter {
        out: &mut sink,
        keep,
    };
    w.str(src, b"nix-archive-1")?;
    w.node(src, Some(dst))?;
    Ok(sink.finish())
}

/// The SHA-256 and the size of the NAR of `path`, computed while streaming.
pub fn nar_hash_and_size(path: &Path) -> Result<([u8; 32], u64)> {
    nar_hash_and_size_filtered(path, &|_| true)
}

/// [`nar_hash_and_size`] of the filtered tree (see [`write_nar_filtered`]).
pub fn nar_hash_and_size_filtered(
    path: &Path,
    keep: &dyn Fn(&Path) -> bool,
) -> Result<([u8; 32], u64)> {
    let mut sink = HashingWriter::default();
    write_nar_filtered(path, &mut sink, keep)?;
    Ok(sink.finish())
}

/// A `Write` that only hashes (SHA-256) and counts what goes through it.
#[derive(Default)]
pub struct HashingWriter {
    hasher: Sha256,
    size: u64,
}

impl HashingWriter {
    /// The digest and the number of bytes written.
    pub fn finish(self) -> ([u8; 32], u64) {
        (self.hasher.finalize().into(), self.size)
    }
}

impl Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.size += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The NAR serialisation of one regular file, hashed as the file's bytes are written by
/// whoever writes it: the producer of a large single-file output (an image archive) hashes it
/// on the way out instead of the store reading it again. The length must be known first (the
/// NAR gives it before the contents); [`FileNarHasher::finish`] refuses any other count.
pub struct FileNarHasher {
    hashing: HashingWriter,
    len: u64,
    written: u64,
}

/// What [`FileNarHasher`] computed: the NAR hash and size of a regular file of `content_len`
/// bytes, as [`nar_hash_and_size`] would give them for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileNar {
    pub nar_hash: [u8; 32],
    pub nar_size: u64,
    pub content_len: u64,
}

impl FileNarHasher {
    /// Starts the NAR of a non-executable regular file of `len` bytes.
    pub fn new(len: u64) -> Self {
        let mut hashing = HashingWriter::default();
        for s in [
            &b"nix-archive-1"[..],
            b"(",
            b"type",
            b"regular",
            b"contents",
        ] {
            nar_str(&mut hashing, s);
        }
        hashing.hasher.update(len.to_le_bytes());
        hashing.size += 8;
        FileNarHasher {
            hashing,
            len,
            written: 0,
        }
    }

    /// Adds the next bytes of the file's contents.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hashing.hasher.update(bytes);
        self.hashing.size += bytes.len() as u64;
        self.written += bytes.len() as u64;
    }

    /// The NAR hash and size, or `None` when the bytes given were not `len`.
    pub fn finish(mut self) -> Option<FileNar> {
        if self.written != self.len {
            return None;
        }
        let rem = (self.len % 8) as usize;
        if rem != 0 {
            self.hashing.hasher.update(&[0u8; 8][..8 - rem]);
            self.hashing.size += (8 - rem) as u64;
        }
        nar_str(&mut self.hashing, b")");
        let (nar_hash, nar_size) = self.hashing.finish();
        Some(FileNar {
            nar_hash,
            nar_size,
            content_len: self.len,
        })
    }
}

/// One NAR string (length, bytes, padding to 8) into `h`.
fn nar_str(h: &mut HashingWriter, s: &[u8]) {
    let pad = (8 - s.len() % 8) % 8;
    h.hasher.update((s.len() as u64).to_le_bytes());
    h.hasher.update(s);
    h.hasher.update(&[0u8; 8][..pad]);
    h.size += 8 + (s.len() + pad) as u64;
}

struct NarWriter<'a, W: Write> {
    out: &'a mut W,
    keep: &'a dyn Fn(&Path) -> bool,
}

impl<W: Write> NarWriter<'_, W> {
    /// Writes one NAR string; `path` is only for the error message.
    fn str(&mut self, path: &Path, s: &[u8]) -> Result<()> {
        self.raw(path, &(s.len() as u64).to_le_bytes())?;
        self.raw(path, s)?;
        self.pad(path, s.len() as u64)
    }

    fn raw(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(io_err(path))
    }

    fn pad(&mut self, path: &Path, len: u64) -> Result<()> {
        let rem = (len % 8) as usize;
        if rem != 0 {
            self.raw(path, &[0u8; 8][..8 - rem])?;
        }
        Ok(())
    }

    fn strs(&mut self, path: &Path, list: &[&[u8]]) -> Result<()> {
        list.iter().try_for_each(|s| self.str(path, s))
    }

    /// Serialises `path`; with `copy`, also recreates it there.
    fn node(&mut self, path: &Path, copy: Option<&Path>) -> Result<()> {
        let meta = fs::symlink_metadata(path).map_err(io_err(path))?;
        let ft = meta.file_type();
        self.str(path, b"(")?;
        if ft.is_file() {
            self.strs(path, &[b"type", b"regular"])?;
            let executable = meta.permissions().mode() & 0o100 != 0;
            if executable {
                self.strs(path, &[b"executable", b""])?;
            }
            self.str(path, b"contents")?;
            let target = match copy {
                Some(dst) => {
                    let file = File::create(dst).map_err(io_err(dst))?;
                    let mode = if executable { 0o755 } else { 0o644 };
                    file.set_permissions(fs::Permissions::from_mode(mode))
                        .map_err(io_err(dst))?;
                    Some((file, dst))
                }
                None => None,
            };
            self.contents(path, meta.len(), target)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(path).map_err(io_err(path))?;
            if let Some(dst) = copy {
                std::os::unix::fs::symlink(&target, dst).map_err(io_err(dst))?;
            }
            self.strs(path, &[b"type", b"symlink", b"target"])?;
            self.str(path, target.as_os_str().as_bytes())?;
        } else if ft.is_dir() {
            if let Some(dst) = copy {
                fs::create_dir(dst).map_err(io_err(dst))?;
            }
            self.strs(path, &[b"type", b"directory"])?;
            let mut names = Vec::new();
            for entry in fs::read_dir(path).map_err(io_err(path))? {
                names.push(entry.map_err(io_err(path))?.file_name());
            }
            names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
            for name in names {
                let child = path.join(&name);
                if !(self.keep)(&child) {
                    continue;
                }
                self.strs(&child, &[b"entry", b"(", b"name", name.as_bytes(), b"node"])?;
                let child_copy = copy.map(|d| d.join(&name));
                self.node(&child, child_copy.as_deref())?;
                self.str(&child, b")")?;
            }
        } else {
            return Err(StoreError::UnsupportedFileType {
                path: path.to_owned(),
            });
        }
        self.str(path, b")")
    }

    /// Streams a regular file's contents as one NAR string of the length `lstat` gave (and
    /// into `copy`, when given).
    fn contents(&mut self, path: &Path, len: u64, copy: Option<(File, &Path)>) -> Result<()> {
        self.raw(path, &len.to_le_bytes())?;
        let file = File::open(path).map_err(io_err(path))?;
        let copied = match copy {
            None => io::copy(&mut file.take(len), self.out).map_err(io_err(path))?,
            Some((mut dst_file, dst)) => {
                let mut reader = file.take(len);
                let mut buf = vec![0u8; 1 << 16];
                let mut total = 0u64;
                loop {
                    let n = reader.read(&mut buf).map_err(io_err(path))?;
                    if n == 0 {
                        break;
                    }
                    self.out.write_all(&buf[..n]).map_err(io_err(path))?;
                    dst_file.write_all(&buf[..n]).map_err(io_err(dst))?;
                    total += n as u64;
                }
                total
            }
        };
        if copied != len {
            return Err(StoreError::SourceChanged {
                path: path.to_owned(),
            });
        }
        self.pad(path, len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn nar_of(path: &Path) -> Vec<u8> {
        let mut v = Vec::new();
        write_nar(path, &mut v).expect("nar");
        v
    }

    fn s(bytes: &[u8]) -> Vec<u8> {
        let mut v = (bytes.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(bytes);
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
        v
    }

    #[test]
    fn file_nar_hasher_agrees_with_the_nar_of_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        for len in [0usize, 1, 7, 8, 9, 100_003] {
            let f = dir.path().join(format!("f{len}"));
            let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
            fs::write(&f, &bytes).expect("write");
            let mut h = FileNarHasher::new(len as u64);
            for piece in bytes.chunks(4096) {
                h.update(piece);
            }
            let got = h.finish().expect("whole");
            let (hash, size) = nar_hash_and_size(&f).expect("nar");
            assert_eq!(
                (got.nar_hash, got.nar_size, got.content_len),
                (hash, size, len as u64)
            );
        }
        let mut short = FileNarHasher::new(3);
        short.update(b"ab");
        assert_eq!(short.finish(), None, "fewer bytes than announced");
    }

    #[test]
    fn regular_file_layout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        fs::write(&f, b"hello").expect("write");
        let expected: Vec<u8> = [
            &b"nix-archive-1"[..],
            b"(",
            b"type",
            b"regular",
            b"contents",
            b"hello",
            b")",
        ]
        .iter()
        .flat_map(|x| s(x))
        .collect();
        assert_eq!(nar_of(&f), expected);
        let (hash, size) = nar_hash_and_size(&f).expect("hash");
        assert_eq!(size, expected.len() as u64);
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(&expected)));
    }

    #[test]
    fn executable_means_owner_x() {
        let dir = tempfile::tempdir().expect("tempdir");
        let f = dir.path().join("f");
        fs::write(&f, b"x").expect("write");
        fs::set_permissions(&f, fs::Permissions::from_mode(0o744)).expect("chmod");
        let marker = s(b"executable");
        let has_marker = |nar: Vec<u8>| nar.windows(marker.len()).any(|w| w == marker.as_slice());
        assert!(has_marker(nar_of(&f)));
        fs::set_permissions(&f, fs::Permissions::from_mode(0o654)).expect("chmod");
        assert!(!has_marker(nar_of(&f)));
    }

    #[test]
    fn symlink_is_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let l = dir.path().join("l");
        symlink("/does/not/exist", &l).expect("symlink");
        let nar = nar_of(&l);
        assert!(nar
            .windows(s(b"/does/not/exist").len())
            .any(|w| w == s(b"/does/not/exist")));
    }

    #[test]
    fn fifo_is_rejected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &p,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .expect("mkfifo");
        assert!(matches!(
            write_nar(dir.path(), &mut Vec::new()),
            Err(StoreError::UnsupportedFileType { .. })
        ));
    }
}
