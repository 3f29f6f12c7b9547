//! Composable writers for blobs (STYLE.md "Images and tars", after ocidir-rs' `BlobWriter`):
//!
//! - [`HashingWriter`]: sha256 and byte count of what passes through. Put in front of the
//!   compressor it yields a layer's `diff_id` (the digest of the uncompressed tar); behind it,
//!   the blob digest.
//! - [`LayerCompressor`]: `gz` (flate2, level 6, a fixed header: mtime 0, no file name, OS byte
//!   255 "unknown", as Go's `compress/gzip` writes) or `none`. `zstd` is refused with
//!   [`OciError::UnsupportedCompressor`] until a zstd dependency is wanted.
//! - [`BlobWriter`]: writes into a temporary file in a blob directory and renames it to
//!   `<blob dir>/<hex>` when completed, so a blob under its digest name is always whole.

use std::fmt;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};
use makes_spec::Compressor;
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

/// The layer compressor chosen by the spec's `compressor`.
pub enum LayerCompressor<W: Write> {
    None(W),
    Gzip(GzEncoder<W>),
}

/// The gzip level dockerTools and Docker use.
const GZIP_LEVEL: u32 = 6;
/// The gzip header's OS byte: 255, "unknown", as Go writes it (not the host's).
const GZIP_OS_UNKNOWN: u8 = 255;

impl<W: Write> LayerCompressor<W> {
    pub fn new(compressor: Compressor, inner: W) -> Result<Self, OciError> {
        match compressor {
            Compressor::None => Ok(LayerCompressor::None(inner)),
            Compressor::Gz => Ok(LayerCompressor::Gzip(
                GzBuilder::new()
                    .mtime(0)
                    .operating_system(GZIP_OS_UNKNOWN)
                    .write(inner, Compression::new(GZIP_LEVEL)),
            )),
            Compressor::Zstd => Err(OciError::UnsupportedCompressor { compressor: "zstd" }),
        }
    }

    /// The OCI media type of a layer compressed this way.
    pub fn media_type(compressor: Compressor) -> &'static str {
        match compressor {
            Compressor::None => "application/vnd.oci.image.layer.v1.tar",
            Compressor::Gz => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compressor::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }

    /// Ends the compressed stream and returns the inner writer.
    pub fn finish(self) -> io::Result<W> {
        match self {
            LayerCompressor::None(w) => Ok(w),
            LayerCompressor::Gzip(g) => g.finish(),
        }
    }
}

impl<W: Write> Write for LayerCompressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            LayerCompressor::None(w) => w.write(buf),
            LayerCompressor::Gzip(g) => g.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            LayerCompressor::None(w) => w.flush(),
            LayerCompressor::Gzip(g) => g.flush(),
        }
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
    use std::io::Read;

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

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut c = LayerCompressor::new(Compressor::Gz, Vec::new()).expect("gz is supported");
        // Uneven chunks: output must not depend on how writes are split.
        for chunk in data.chunks(777) {
            c.write_all(chunk).expect("vec write");
        }
        c.finish().expect("vec write")
    }

    #[test]
    fn gzip_is_deterministic_with_a_fixed_header() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let a = gzip(&data);
        let b = gzip(&data);
        assert_eq!(a, b);
        // Magic, deflate, no flags (so no file name), mtime 0, OS 255.
        assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0]);
        assert_eq!(&a[4..8], &[0, 0, 0, 0]);
        assert_eq!(a[9], 255);
        // And it round-trips.
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
        assert_eq!(out, data);
        // Golden digest of the compressed bytes: changes if level, header or backend change.
        // The same bytes as zlib's level-6 deflate behind a header with mtime 0 and OS 255
        // (checked with Python's zlib when this was written).
        assert_eq!(
            Digest::of(&gzip(b"makes")).hex(),
            "8f87a246228968dd4abe34727cd22afabc0aab566f817243d449b017c072875d"
        );
    }

    #[test]
    fn none_passes_through_and_zstd_is_refused() {
        let mut c = LayerCompressor::new(Compressor::None, Vec::new()).expect("none");
        c.write_all(b"abc").expect("vec write");
        assert_eq!(c.finish().expect("vec"), b"abc");
        assert!(matches!(
            LayerCompressor::new(Compressor::Zstd, Vec::new()),
            Err(OciError::UnsupportedCompressor { .. })
        ));
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
