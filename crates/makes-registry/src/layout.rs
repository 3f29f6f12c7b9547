//! The OCI image layout a pull writes into (`oci-layout`, `index.json`, `blobs/sha256/<hex>`).
//!
//! A blob is streamed into a temporary file beside its final place while it is hashed and
//! counted, and renamed to its digest only when both match the descriptor; otherwise the
//! temporary file is removed. `index.json` is written last (also through a rename), so a
//! layout that has one is complete, and a failed pull leaves only whole, verified blobs.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::RegistryError;
use crate::session::Failure;
use makes_oci_model::{Digest, HashingReader};

use makes_oci_model::media_types::OCI_LAYOUT_JSON;
use sha2::{Digest as _, Sha256};
const TMP_PREFIX: &str = ".tmp-";

/// What a blob is, for messages.
pub(crate) struct BlobId<'a> {
    pub what: &'a str,
    pub repository: &'a str,
    pub digest: &'a Digest,
    pub size: u64,
}

pub(crate) struct LayoutDir {
    root: PathBuf,
    blobs: PathBuf,
}

impl LayoutDir {
    pub(crate) fn create(root: &Path) -> Result<LayoutDir, RegistryError> {
        let blobs = root.join("blobs").join("sha256");
        fs::create_dir_all(&blobs).map_err(RegistryError::io(&blobs))?;
        Ok(LayoutDir {
            root: root.to_path_buf(),
            blobs,
        })
    }

    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.blobs.join(digest.hex())
    }

    /// Whether the blob is already there, whole: its size and its hash are checked.
    pub(crate) fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool, RegistryError> {
        let path = self.blob_path(digest);
        match fs::metadata(&path) {
            Ok(m) if m.is_file() && m.len() == size => {}
            _ => return Ok(false),
        }
        let file = fs::File::open(&path).map_err(RegistryError::io(&path))?;
        let mut reader = HashingReader::new(file);
        std::io::copy(&mut reader, &mut std::io::sink()).map_err(RegistryError::io(&path))?;
        Ok(reader.finish().0 == *digest)
    }

    /// Streams `source` into the blob `id`, checking size and digest as it goes. Errors while
    /// reading `source` are [`Failure::Retry`] (a broken transfer); a short transfer too; a
    /// digest mismatch or a longer transfer are final.
    pub(crate) fn write_blob(
        &self,
        source: &mut dyn Read,
        id: &BlobId<'_>,
        on_read_error: &dyn Fn(&std::io::Error) -> Failure,
    ) -> Result<(), Failure> {
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(&self.blobs)
            .map_err(RegistryError::io(&self.blobs))?;
        let mut hasher = Sha256::new();
        let mut count: u64 = 0;
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let n = match source.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(on_read_error(&e)),
            };
            count += n as u64;
            if count > id.size {
                return Err(Failure::fatal(size_mismatch(id, count)));
            }
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .map_err(RegistryError::io(tmp.path()))?;
        }
        if count < id.size {
            return Err(Failure::retry(size_mismatch(id, count)));
        }
        let found = Digest::from_hasher(hasher);
        if found != *id.digest {
            return Err(Failure::fatal(RegistryError::DigestMismatch {
                what: id.what.to_string(),
                repository: id.repository.to_string(),
                expected: id.digest.to_string(),
                found: found.to_string(),
            }));
        }
        tmp.as_file()
            .sync_all()
            .map_err(RegistryError::io(tmp.path()))?;
        let target = self.blob_path(id.digest);
        tmp.persist(&target).map_err(|e| RegistryError::Io {
            path: target,
            source: e.error,
        })?;
        Ok(())
    }

    /// Writes bytes already checked against `digest` (a manifest held in memory).
    pub(crate) fn write_verified_bytes(
        &self,
        digest: &Digest,
        bytes: &[u8],
    ) -> Result<(), RegistryError> {
        self.write_file(&self.blob_path(digest), bytes)
    }

    /// Writes `oci-layout` and then `index.json`, naming `manifest` with `annotations`.
    pub(crate) fn write_index(&self, index_json: &[u8]) -> Result<(), RegistryError> {
        self.write_file(&self.root.join("oci-layout"), OCI_LAYOUT_JSON)?;
        self.write_file(&self.root.join("index.json"), index_json)
    }

    fn write_file(&self, path: &Path, bytes: &[u8]) -> Result<(), RegistryError> {
        let dir = path.parent().unwrap_or(&self.root);
        let mut tmp = tempfile::Builder::new()
            .prefix(TMP_PREFIX)
            .tempfile_in(dir)
            .map_err(RegistryError::io(dir))?;
        tmp.write_all(bytes)
            .map_err(RegistryError::io(tmp.path()))?;
        tmp.persist(path).map_err(|e| RegistryError::Io {
            path: path.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }
}

fn size_mismatch(id: &BlobId<'_>, found: u64) -> RegistryError {
    RegistryError::SizeMismatch {
        what: id.what.to_string(),
        repository: id.repository.to_string(),
        digest: id.digest.to_string(),
        expected: id.size,
        found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_retry(e: &std::io::Error) -> Failure {
        Failure::fatal(RegistryError::Io {
            path: "net".into(),
            source: std::io::Error::new(e.kind(), e.to_string()),
        })
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .expect("readable")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn verified_blob_is_renamed_into_place() {
        let dir = tempfile::tempdir().expect("tmp");
        let layout = LayoutDir::create(dir.path()).expect("layout");
        let digest = Digest::of(b"hello");
        let id = BlobId {
            what: "blob",
            repository: "r",
            digest: &digest,
            size: 5,
        };
        layout
            .write_blob(&mut &b"hello"[..], &id, &no_retry)
            .map_err(|_| "failed")
            .expect("written");
        assert_eq!(fs::read(layout.blob_path(&digest)).expect("blob"), b"hello");
        assert!(layout.has_blob(&digest, 5).expect("check"));
        assert!(!layout.has_blob(&digest, 6).expect("check"));
    }

    #[test]
    fn mismatches_leave_nothing() {
        let dir = tempfile::tempdir().expect("tmp");
        let layout = LayoutDir::create(dir.path()).expect("layout");
        let digest = Digest::of(b"hello");
        let id = BlobId {
            what: "layer",
            repository: "r",
            digest: &digest,
            size: 5,
        };
        match layout.write_blob(&mut &b"jello"[..], &id, &no_retry) {
            Err(Failure::Fatal(e)) if matches!(*e, RegistryError::DigestMismatch { .. }) => {
                let msg = e.to_string();
                assert!(
                    msg.contains(&digest.to_string())
                        && msg.contains(&Digest::of(b"jello").to_string()),
                    "{msg}"
                );
            }
            _ => panic!("expected a digest mismatch"),
        }
        assert!(matches!(
            layout.write_blob(&mut &b"hello!"[..], &id, &no_retry),
            Err(Failure::Fatal(e)) if matches!(*e, RegistryError::SizeMismatch { .. })
        ));
        assert!(matches!(
            layout.write_blob(&mut &b"hell"[..], &id, &no_retry),
            Err(Failure::Retry(e)) if matches!(*e, RegistryError::SizeMismatch { .. })
        ));
        assert!(leftovers(&dir.path().join("blobs/sha256")).is_empty());
    }
}
