//! Reading NARs back: a strict parser that restores a NAR stream (as [`crate::write_nar`] and
//! `nix-store --dump` write it) into a new tree on disk, as Nix's `restorePath`
//! (`src/libutil/archive.cc`, `parseDump`) does.
//!
//! The input comes from the network, so nothing is trusted: every string has a bound before it
//! is allocated, padding must be zeros, entry names must be plain names (not empty, `.`, `..`,
//! nor containing `/` or NUL) in strictly increasing byte order (which also rules out
//! duplicates), nesting is bounded, and anything but the exact grammar is an error. Entries are
//! only ever created inside directories this parser created, and never through a symlink, so a
//! NAR cannot write outside `dst`.

use std::fs::{self, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{io_err, Result, StoreError};

/// Longest file name (Linux `NAME_MAX`).
const MAX_NAME: u64 = 255;
/// Longest symlink target (Linux `PATH_MAX` less the NUL).
const MAX_TARGET: u64 = 4095;
/// Longest keyword of the format (`nix-archive-1` is the longest).
const MAX_KEYWORD: u64 = 16;
/// Deepest directory nesting accepted (a bound on the parser's memory; paths that deep are
/// near `PATH_MAX` anyway).
const MAX_DEPTH: usize = 1024;

/// Restores the NAR read from `input` at `dst`, which must not exist. Reads exactly the NAR
/// and nothing after it. On error, whatever was created under `dst` is left for the caller to
/// remove.
pub fn restore_nar(input: &mut impl Read, dst: &Path) -> Result<()> {
    let mut parser = NarParser {
        input,
        entry: String::from("/"),
    };
    parser.expect(b"nix-archive-1")?;
    parser.tree(dst)
}

struct NarParser<'a, R: Read> {
    input: &'a mut R,
    /// The entry being read, relative to the NAR's root, for error messages.
    entry: String,
}

impl<R: Read> NarParser<'_, R> {
    fn invalid(&self, reason: impl Into<String>) -> StoreError {
        StoreError::InvalidNar {
            entry: self.entry.clone(),
            reason: reason.into(),
        }
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<()> {
        self.input.read_exact(buf).map_err(|e| self.read_error(e))
    }

    fn read_error(&self, source: io::Error) -> StoreError {
        if source.kind() == io::ErrorKind::UnexpectedEof {
            self.invalid("the NAR ends too early")
        } else {
            StoreError::NarStream { source }
        }
    }

    fn u64(&mut self) -> Result<u64> {
        let mut buf = [0u8; 8];
        self.read_exact(&mut buf)?;
        Ok(u64::from_le_bytes(buf))
    }

    /// The zero padding after a string of `len` bytes.
    fn padding(&mut self, len: u64) -> Result<()> {
        let rem = (len % 8) as usize;
        if rem != 0 {
            let mut buf = [0u8; 8];
            self.read_exact(&mut buf[..8 - rem])?;
            if buf.iter().any(|&b| b != 0) {
                return Err(self.invalid("non-zero padding"));
            }
        }
        Ok(())
    }

    /// One string of at most `max` bytes.
    fn string(&mut self, max: u64) -> Result<Vec<u8>> {
        let len = self.u64()?;
        if len > max {
            return Err(self.invalid(format!("a string of {len} bytes where at most {max} fit")));
        }
        // Bounded by `max` just above.
        let mut buf = vec![0u8; len as usize];
        self.read_exact(&mut buf)?;
        self.padding(len)?;
        Ok(buf)
    }

    fn keyword(&mut self) -> Result<Vec<u8>> {
        self.string(MAX_KEYWORD)
    }

    fn expect(&mut self, want: &[u8]) -> Result<()> {
        let got = self.keyword()?;
        if got != want {
            return Err(self.invalid(format!(
                "expected {:?}, found {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&got)
            )));
        }
        Ok(())
    }

    /// Reads `( type ...` and restores a file or symlink whole (up to its `)`), or creates a
    /// directory and stops after its type: its entries are read by [`NarParser::tree`].
    fn open_node(&mut self, dst: &Path) -> Result<Node> {
        self.expect(b"(")?;
        self.expect(b"type")?;
        match self.keyword()?.as_slice() {
            b"regular" => self.regular(dst).map(|()| Node::Closed),
            b"symlink" => {
                self.expect(b"target")?;
                let target = self.string(MAX_TARGET)?;
                if target.is_empty() || target.contains(&0) {
                    return Err(self.invalid("empty symlink target or one with a NUL byte"));
                }
                std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(&target), dst)
                    .map_err(io_err(dst))?;
                self.expect(b")")?;
                Ok(Node::Closed)
            }
            b"directory" => {
                fs::create_dir(dst).map_err(io_err(dst))?;
                Ok(Node::Directory)
            }
            other => Err(self.invalid(format!(
                "unknown node type {:?}",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// The node at `dst` and, for a directory, everything below it: `(entry ( name <name>
    /// node <node> ))* )` per directory, with a stack of the open ones rather than recursion,
    /// so a deep tree cannot exhaust the thread's stack.
    fn tree(&mut self, dst: &Path) -> Result<()> {
        if let Node::Closed = self.open_node(dst)? {
            return Ok(());
        }
        let mut open = vec![OpenDir {
            dst: dst.to_owned(),
            previous: None,
            entry_len: None,
        }];
        while let Some(dir) = open.last_mut() {
            // `entry`, or the `)` that closes the directory.
            let tag = self.keyword()?;
            if tag == b")" {
                if let Some(parent_len) = dir.entry_len {
                    // The directory was an entry of its parent: close that too.
                    self.expect(b")")?;
                    self.entry.truncate(parent_len);
                }
                open.pop();
                continue;
            }
            if tag != b"entry" {
                return Err(self.invalid(format!(
                    "expected \"entry\" or \")\", found {:?}",
                    String::from_utf8_lossy(&tag)
                )));
            }
            self.expect(b"(")?;
            self.expect(b"name")?;
            let name = self.string(MAX_NAME)?;
            if name.is_empty()
                || name == b"."
                || name == b".."
                || name.contains(&b'/')
                || name.contains(&0)
            {
                return Err(self.invalid(format!(
                    "invalid entry name {:?}",
                    String::from_utf8_lossy(&name)
                )));
            }
            if dir.previous.as_ref().is_some_and(|p| name <= *p) {
                return Err(self.invalid(format!(
                    "entry {:?} is not after the previous one (unsorted or duplicate)",
                    String::from_utf8_lossy(&name)
                )));
            }
            self.expect(b"node")?;
            let child = dir.dst.join(std::ffi::OsStr::from_bytes(&name));
            let parent_len = self.entry.len();
            if !self.entry.ends_with('/') {
                self.entry.push('/');
            }
            self.entry.push_str(&String::from_utf8_lossy(&name));
            dir.previous = Some(name);
            match self.open_node(&child)? {
                Node::Closed => {
                    self.expect(b")")?;
                    self.entry.truncate(parent_len);
                }
                Node::Directory => {
                    if open.len() >= MAX_DEPTH {
                        return Err(self.invalid("directories nested too deeply"));
                    }
                    open.push(OpenDir {
                        dst: child,
                        previous: None,
                        entry_len: Some(parent_len),
                    });
                }
            }
        }
        Ok(())
    }

    /// `[executable ""] contents <bytes> )`, streamed into a new file.
    fn regular(&mut self, dst: &Path) -> Result<()> {
        let mut tag = self.keyword()?;
        let executable = tag == b"executable";
        if executable {
            self.expect(b"")?;
            tag = self.keyword()?;
        }
        if tag != b"contents" {
            return Err(self.invalid(format!(
                "expected \"contents\", found {:?}",
                String::from_utf8_lossy(&tag)
            )));
        }
        let len = self.u64()?;
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(if executable { 0o755 } else { 0o644 })
            .open(dst)
            .map_err(io_err(dst))?;
        let mut limited = (&mut *self.input).take(len);
        let copied = copy_to(&mut limited, &mut file, dst).map_err(|e| match e {
            CopyError::Read(source) => self.read_error(source),
            CopyError::Write(err) => err,
        })?;
        if copied != len {
            return Err(self.invalid("the NAR ends too early"));
        }
        self.padding(len)?;
        self.expect(b")")
    }
}

/// What [`NarParser::open_node`] left to read.
enum Node {
    /// A file or symlink, read up to its `)`.
    Closed,
    /// A directory whose entries come next.
    Directory,
}

/// A directory whose entries are being read.
struct OpenDir {
    dst: PathBuf,
    /// The previous entry's name: names must increase strictly.
    previous: Option<Vec<u8>>,
    /// For a directory that is an entry of its parent, the length of the parent's name in
    /// `NarParser::entry`, to go back to when it is closed.
    entry_len: Option<usize>,
}

enum CopyError {
    Read(io::Error),
    Write(StoreError),
}

/// Copies `reader` to `file` until its end; returns the number of bytes.
fn copy_to(reader: &mut impl Read, file: &mut fs::File, dst: &Path) -> Result<u64, CopyError> {
    use std::io::Write;
    let mut buf = vec![0u8; 1 << 16];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Read(e)),
        };
        file.write_all(&buf[..n])
            .map_err(|e| CopyError::Write(io_err(dst)(e)))?;
        total += n as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nar::write_nar;
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// One NAR string: length, bytes, zero padding.
    fn s(bytes: &[u8]) -> Vec<u8> {
        let mut v = (bytes.len() as u64).to_le_bytes().to_vec();
        v.extend_from_slice(bytes);
        while !v.len().is_multiple_of(8) {
            v.push(0);
        }
        v
    }

    fn nar(tokens: &[&[u8]]) -> Vec<u8> {
        tokens.iter().flat_map(|t| s(t)).collect()
    }

    fn restore(bytes: &[u8]) -> (tempfile::TempDir, Result<()>) {
        let dir = tempfile::tempdir().expect("tempdir");
        let result = restore_nar(&mut &bytes[..], &dir.path().join("out"));
        (dir, result)
    }

    fn nar_of(path: &Path) -> Vec<u8> {
        let mut v = Vec::new();
        write_nar(path, &mut v).expect("nar");
        v
    }

    #[test]
    fn round_trip_with_write_nar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("a/b/c")).expect("mkdir");
        fs::write(src.join("a/b/c/deep"), "deep").expect("write");
        fs::write(src.join("exe"), "#!/bin/sh\n").expect("write");
        fs::set_permissions(src.join("exe"), fs::Permissions::from_mode(0o700)).expect("chmod");
        fs::write(src.join("empty"), "").expect("write");
        fs::write(src.join("seven"), "1234567").expect("write");
        fs::write(src.join("big"), vec![0xabu8; 200_001]).expect("write");
        symlink("a/b", src.join("link")).expect("symlink");
        symlink("/elsewhere/../x", src.join("abs-link")).expect("symlink");
        fs::create_dir(src.join("empty-dir")).expect("mkdir");
        let bytes = nar_of(&src);
        let out = dir.path().join("out");
        let mut input = &bytes[..];
        restore_nar(&mut input, &out).expect("restore");
        assert!(input.is_empty(), "reads exactly the NAR");
        assert_eq!(nar_of(&out), bytes);
        let mode = fs::metadata(out.join("exe"))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o100, 0o100);
        assert_eq!(
            fs::read_link(out.join("abs-link")).expect("link"),
            Path::new("/elsewhere/../x")
        );
    }

    #[test]
    fn a_file_and_a_symlink_at_the_top() {
        let file = nar(&[
            b"nix-archive-1",
            b"(",
            b"type",
            b"regular",
            b"contents",
            b"x",
            b")",
        ]);
        let (dir, result) = restore(&file);
        result.expect("file");
        assert_eq!(fs::read(dir.path().join("out")).expect("read"), b"x");
        let link = nar(&[
            b"nix-archive-1",
            b"(",
            b"type",
            b"symlink",
            b"target",
            b"t",
            b")",
        ]);
        let (dir, result) = restore(&link);
        result.expect("symlink");
        assert_eq!(
            fs::read_link(dir.path().join("out")).expect("link"),
            Path::new("t")
        );
    }

    fn dir_with(names: &[&[u8]]) -> Vec<u8> {
        let mut tokens: Vec<&[u8]> = vec![b"nix-archive-1", b"(", b"type", b"directory"];
        for name in names {
            tokens.extend_from_slice(&[
                b"entry",
                b"(",
                b"name",
                name,
                b"node",
                b"(",
                b"type",
                b"regular",
                b"contents",
                b"",
                b")",
                b")",
            ]);
        }
        tokens.push(b")");
        nar(&tokens)
    }

    #[test]
    fn malformed_inputs_are_rejected() {
        let good = dir_with(&[b"a", b"b"]);
        restore(&good).1.expect("the well-formed base case");
        let mut bad_padding = nar(&[b"nix-archive-1", b"(", b"type", b"regular", b"contents"]);
        bad_padding.extend_from_slice(&1u64.to_le_bytes());
        bad_padding.extend_from_slice(b"x\0\0\0\0\0\x01");
        let mut huge_string = nar(&[b"nix-archive-1", b"(", b"type", b"symlink", b"target"]);
        huge_string.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut huge_contents = nar(&[b"nix-archive-1", b"(", b"type", b"regular", b"contents"]);
        huge_contents.extend_from_slice(&u64::MAX.to_le_bytes());
        huge_contents.extend_from_slice(b"only this");
        let mut deep: Vec<&[u8]> = vec![b"nix-archive-1"];
        for _ in 0..=MAX_DEPTH + 1 {
            deep.extend_from_slice(&[b"(", b"type", b"directory", b"entry", b"(", b"name", b"d"]);
            deep.push(b"node");
        }
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty input", Vec::new()),
            ("wrong magic", nar(&[b"nix-archive-2", b"("])),
            ("truncated", good[..good.len() - 8].to_vec()),
            ("dot-dot", dir_with(&[b".."])),
            ("dot", dir_with(&[b"."])),
            ("slash", dir_with(&[b"a/b"])),
            ("absolute", dir_with(&[b"/etc"])),
            ("empty name", dir_with(&[b""])),
            ("nul in name", dir_with(&[b"a\0b"])),
            ("unsorted", dir_with(&[b"b", b"a"])),
            ("duplicate", dir_with(&[b"a", b"a"])),
            ("long name", dir_with(&[&[b'n'; 256]])),
            (
                "unknown type",
                nar(&[b"nix-archive-1", b"(", b"type", b"fifo", b")"]),
            ),
            (
                "executable without empty string",
                nar(&[
                    b"nix-archive-1",
                    b"(",
                    b"type",
                    b"regular",
                    b"executable",
                    b"yes",
                ]),
            ),
            (
                "unknown file field",
                nar(&[
                    b"nix-archive-1",
                    b"(",
                    b"type",
                    b"regular",
                    b"owner",
                    b"root",
                ]),
            ),
            (
                "empty symlink target",
                nar(&[
                    b"nix-archive-1",
                    b"(",
                    b"type",
                    b"symlink",
                    b"target",
                    b"",
                    b")",
                ]),
            ),
            (
                "junk in directory",
                nar(&[b"nix-archive-1", b"(", b"type", b"directory", b"junk"]),
            ),
            ("non-zero padding", bad_padding),
            ("huge string", huge_string),
            ("huge contents", huge_contents),
            ("too deep", nar(&deep)),
        ];
        for (what, bytes) in cases {
            let (_dir, result) = restore(&bytes);
            let err = result.expect_err(what);
            assert!(
                matches!(err, StoreError::InvalidNar { .. }),
                "{what}: {err}"
            );
        }
    }

    #[test]
    fn errors_name_the_entry() {
        let (_dir, result) = restore(&dir_with(&[b"b", b"a"]));
        let err = result.expect_err("unsorted");
        assert!(
            err.to_string().starts_with("invalid NAR at /: entry \"a\""),
            "{err}"
        );
        let mut tokens: Vec<&[u8]> = vec![b"nix-archive-1", b"(", b"type", b"directory"];
        tokens.extend_from_slice(&[b"entry", b"(", b"name", b"sub", b"node"]);
        tokens.extend_from_slice(&[b"(", b"type", b"directory", b"entry", b"(", b"name", b".."]);
        let (_dir, result) = restore(&nar(&tokens));
        let err = result.expect_err("dot-dot below");
        assert!(err.to_string().starts_with("invalid NAR at /sub:"), "{err}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A cheap deterministic fuzz: every prefix and single-byte corruption of a real NAR.
        let dir = tempfile::tempdir().expect("tempdir");
        let src = dir.path().join("src");
        fs::create_dir_all(src.join("d")).expect("mkdir");
        fs::write(src.join("d/f"), "contents").expect("write");
        symlink("d/f", src.join("l")).expect("symlink");
        let bytes = nar_of(&src);
        for cut in 0..bytes.len() {
            let (_dir, result) = restore(&bytes[..cut]);
            assert!(result.is_err(), "prefix of {cut} bytes");
        }
        for at in 0..bytes.len() {
            let mut corrupt = bytes.clone();
            corrupt[at] ^= 0x5a;
            let _ = restore(&corrupt);
        }
    }
}
