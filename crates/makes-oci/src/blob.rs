//! Composable writers for blobs (after ocidir-rs' `BlobWriter`), so hashing, compression and
//! storing by digest are separate steps that stack:
//!
//! - [`HashingWriter`] (from `makes-oci-model`, with [`Digest`]): sha256 and byte count of
//!   what passes through: the blob digest. (A layer's `diff_id`, the digest of its
//!   uncompressed tar, is hashed by [`crate::layer_writer`]'s sink from the chunks themselves.)
//! - the compressor lives in [`crate::compress`] (parallel and deterministic).
//! - [`BlobWriter`]: writes into a temporary file in a blob directory and renames it to
//!   `<blob dir>/<hex>` when completed, so a blob under its digest name is always whole.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

pub use makes_oci_model::{Digest, HashingWriter};

use crate::error::OciError;

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

    /// The directory the blob goes to.
    pub fn dir(&self) -> &Path {
        &self.dir
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
