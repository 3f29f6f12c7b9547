//! The layer cache: a layer whose inputs did not change is neither re-tarred nor re-compressed,
//! so a rebuild after a small change costs only the layers that changed.
//!
//! A layer is keyed by the sha256 of everything that decides its bytes ([`LayerKey`]): the
//! format version, the compressor and its fixed parameters, the header policy, the name and NAR
//! hash of each store path in it (store paths never change once valid, and the NAR hash pins
//! their contents), and for the customisation root a fingerprint of its entries including file
//! contents. Layout under the cache directory:
//!
//! - `blobs/<hex>`: compressed layer blobs, written there directly by the blob writer (no copy);
//! - `layers/<key hex>.json`: `{digest, diff_id, size, media_type}` of the layer built for a key,
//!   written by temporary file and rename once the blob is in place.
//!
//! An entry whose blob is missing or has another size is ignored (and rebuilt).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::blob::Digest;
use crate::error::OciError;

/// Bump when the tar or compression format changes, so old entries are not reused.
const KEY_VERSION: &[u8] = b"makes-layer-v2\0";

/// A hasher for a layer key.
pub struct LayerKey(Sha256);

impl LayerKey {
    pub fn new() -> Self {
        let mut h = Sha256::new();
        h.update(KEY_VERSION);
        LayerKey(h)
    }

    /// Adds a length-prefixed field.
    pub fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn finish(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

impl Write for LayerKey {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What the cache remembers of a layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedLayer {
    pub digest: String,
    pub diff_id: String,
    pub size: u64,
}

/// A cache directory.
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// Opens (creating) the cache at `dir`.
    pub fn open(dir: &Path) -> Result<Self, OciError> {
        for sub in ["blobs", "layers"] {
            let d = dir.join(sub);
            fs::create_dir_all(&d).map_err(OciError::io(&d))?;
        }
        Ok(LayerCache {
            dir: dir.to_path_buf(),
        })
    }

    /// Where blobs are written.
    pub fn blob_dir(&self) -> PathBuf {
        self.dir.join("blobs")
    }

    fn record(&self, key: &Digest) -> PathBuf {
        self.dir.join("layers").join(format!("{}.json", key.hex()))
    }

    /// The layer built for `key`, with the path of its blob, if it is whole.
    pub fn get(&self, key: &Digest) -> Option<(CachedLayer, Digest, Digest, PathBuf)> {
        let bytes = fs::read(self.record(key)).ok()?;
        let layer: CachedLayer = serde_json::from_slice(&bytes).ok()?;
        let digest = Digest::parse(&layer.digest).ok()?;
        let diff_id = Digest::parse(&layer.diff_id).ok()?;
        let blob = self.blob_dir().join(digest.hex());
        let meta = fs::metadata(&blob).ok()?;
        (meta.len() == layer.size).then_some((layer, digest, diff_id, blob))
    }

    /// Remembers that `key` gave `layer` (whose blob is already in [`Self::blob_dir`]).
    pub fn put(&self, key: &Digest, layer: &CachedLayer) -> Result<(), OciError> {
        let path = self.record(key);
        let dir = self.dir.join("layers");
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempfile_in(&dir)
            .map_err(OciError::io(&dir))?;
        let json = serde_json::to_vec(layer).map_err(|source| OciError::Json {
            what: "layer cache record",
            source,
        })?;
        tmp.write_all(&json).map_err(OciError::io(&path))?;
        tmp.persist(&path).map_err(|e| OciError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_and_broken_entries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = LayerCache::open(dir.path()).expect("open");
        let blob = crate::blob::write_blob(&cache.blob_dir(), b"layer bytes").expect("blob");
        let key = Digest::of(b"key");
        assert!(cache.get(&key).is_none());
        let rec = CachedLayer {
            digest: blob.digest.to_string(),
            diff_id: Digest::of(b"tar").to_string(),
            size: blob.size,
        };
        cache.put(&key, &rec).expect("put");
        let (got, digest, diff_id, path) = cache.get(&key).expect("hit");
        assert_eq!(got, rec);
        assert_eq!(digest, blob.digest);
        assert_eq!(diff_id, Digest::of(b"tar"));
        assert_eq!(path, blob.path);
        // A blob that went missing makes the entry a miss.
        fs::remove_file(&blob.path).expect("rm");
        assert!(cache.get(&key).is_none());
    }
}
