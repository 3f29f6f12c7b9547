//! A base image's metadata read from its files ([`ImageFiles`], the one reader of layouts and
//! archives): JSON files size-capped, JSON blobs checked against their digests, and the
//! reader's errors said as errors of the base image (the reader names the layout or archive,
//! which is the base image's path).

use std::path::Path;

use makes_oci_model::{ImageFiles, OciModelError};
use serde_json::Value;

use crate::blob::Digest;
use crate::error::OciError;

/// Manifests bigger than this are not images (a guard against reading huge files).
const MAX_JSON: u64 = 4 << 20;

impl From<OciModelError> for OciError {
    fn from(error: OciModelError) -> OciError {
        match error {
            OciModelError::InvalidImageFiles { path, reason } => {
                OciError::InvalidBaseImage { path, reason }
            }
            OciModelError::Io { path, source } => OciError::Io { path, source },
            other @ (OciModelError::InvalidDigest { .. }
            | OciModelError::InvalidPlatform { .. }) => OciError::Model(other),
        }
    }
}

/// The JSON file `name`, as bytes and parsed.
pub(crate) fn read_json(
    files: &ImageFiles,
    name: &str,
    source: &Path,
) -> Result<(Vec<u8>, Value), OciError> {
    let bytes = files.read_small(name, MAX_JSON)?;
    let value =
        serde_json::from_slice(&bytes).map_err(|e| invalid(source, format!("{name}: {e}")))?;
    Ok((bytes, value))
}

/// A JSON blob (manifest, config), checked against its digest.
pub(crate) fn read_json_blob(
    files: &ImageFiles,
    what: &'static str,
    digest: &str,
    source: &Path,
) -> Result<Value, OciError> {
    let (bytes, value) = read_json(files, &blob_name(digest, source)?, source)?;
    let found = Digest::of(&bytes).to_string();
    if found != digest {
        return Err(mismatch(source, what, digest, "digest", digest, &found));
    }
    Ok(value)
}

pub(crate) fn invalid(path: &Path, reason: impl Into<String>) -> OciError {
    OciError::InvalidBaseImage {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

pub(crate) fn mismatch(
    source: &Path,
    what: &'static str,
    name: &str,
    field: &'static str,
    expected: &str,
    found: &str,
) -> OciError {
    OciError::BaseImageMismatch {
        path: source.to_owned(),
        blob: format!("{what} {name}"),
        field,
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
}

/// `blobs/sha256/<hex>` for a digest of the only algorithm images use here.
pub(crate) fn blob_name(digest: &str, source: &Path) -> Result<String, OciError> {
    Digest::parse(digest)
        .map(|d| d.layout_path())
        .map_err(|_| invalid(source, format!("unsupported digest '{digest}'")))
}
