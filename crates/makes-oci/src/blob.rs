//! Composable writers for blobs (after ocidir-rs' `BlobWriter`), so hashing, compression and
//! storing by digest are separate steps that stack:
//!
//! - [`HashingWriter`]: sha256 and byte count of what passes through. Put in front of the
//!   compressor it yields a layer's `diff_id` (the digest of the uncompressed tar); behind it,
//!   the blob digest.
//! - the compressor lives in [`crate::compress`] (parallel and deterministic).
//! - [`BlobWriter`]: writes into a temporary file in a blob directory and renames it to
//!   `<blob dir>/<hex>` when completed, so a blob under its digest name is always whole.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::OciError;

/// A sha256 digest, shown as `sha256:<hex>`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Digest {
        Digest(Sha256::digest(bytes).into())
    }

    /// Parses `sha256:<64 hex digits>`.
    pub fn parse(s: &str) -> Option<Digest> {
        let hex = s.strip_prefix("sha256:")?.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let v = |c: u8| (c as char).to_digit(16);
            out[i] = (v(pair[0])? * 16 + v(pair[1])?) as u8;
        }
        Some(Digest(out))
    }

    /// The 64 lowercase hex digits.
    pub fn hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from(HEX[usize::from(b >> 4)]));
            s.push(char::from(HEX[usize::from(b & 15)]));
        }
        s
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Passes bytes to `inner`, hashing and counting them.
pub struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    len: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            len: 0,
        }
    }

    /// The inner writer, the digest and the number of bytes written.
    pub fn finish(self) -> (W, Digest, u64) {
        (self.inner, Digest(self.hasher.finalize().into()), self.len)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A blob stored under its digest: where it is, its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub path: PathBuf,
    pub digest: Digest,
    pub size: u64,
}

/// Writes a blob to a temporary file in `dir`; [`BlobWriter::complete`] renames it to
/// `dir/<hex>`.
pub struct BlobWriter {
    dir: PathBuf,
    out: HashingWriter<BufWriter<tempfile::NamedTempFile>>,
}

impl BlobWriter {
    pub fn new(dir: &Path) -> Result<Self, OciError> {
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-blob-")
            .tempfile_in(dir)
            .map_err(OciError::io(dir))?;
        Ok(BlobWriter {
            dir: dir.to_path_buf(),
            out: HashingWriter::new(BufWriter::with_capacity(1 << 20, tmp)),
        })
    }

    /// Flushes, syncs nothing (the archive is the durable output), and renames the blob to its
    /// digest.
    pub fn complete(self) -> Result<StoredBlob, OciError> {
        let (buf, digest, size) = self.out.finish();
        let tmp = buf.into_inner().map_err(|e| OciError::Io {
            path: self.dir.clone(),
            source: e.into_error(),
        })?;
        let path = self.dir.join(digest.hex());
        tmp.persist(&path).map_err(|e| OciError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(StoredBlob { path, digest, size })
    }
}

impl Write for BlobWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes `bytes` as a blob in `dir`.
pub fn write_blob(dir: &Path, bytes: &[u8]) -> Result<StoredBlob, OciError> {
    let mut w = BlobWriter::new(dir)?;
    w.write_all(bytes).map_err(OciError::io(dir))?;
    w.complete()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_writer_matches_sha256() {
        let mut w = HashingWriter::new(Vec::new());
        w.write_all(b"hello ").expect("vec write");
        w.write_all(b"world").expect("vec write");
        let (inner, digest, len) = w.finish();
        assert_eq!(inner, b"hello world");
        assert_eq!(len, 11);
        assert_eq!(
            digest.to_string(),
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(digest, Digest::of(b"hello world"));
    }

    #[test]
    fn blob_writer_renames_to_digest() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blob = write_blob(dir.path(), b"{}").expect("write blob");
        assert_eq!(blob.digest, Digest::of(b"{}"));
        assert_eq!(blob.size, 2);
        assert_eq!(blob.path, dir.path().join(blob.digest.hex()));
        assert_eq!(std::fs::read(&blob.path).expect("read"), b"{}");
        // Nothing temporary left behind.
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
    }
}
