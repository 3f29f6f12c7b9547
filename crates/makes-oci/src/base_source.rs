//! Where a base image's files are read from: a layout directory, read without following any
//! symlink (one that came from the project as a path literal may link anywhere), or an image
//! archive, read in place (`base_archive`). JSON files are size-capped, and JSON blobs checked
//! against their digests.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};
use serde_json::Value;

use crate::base_archive::ArchiveIndex;
use crate::blob::Digest;
use crate::error::OciError;

/// Manifests bigger than this are not images (a guard against reading huge files).
const MAX_JSON: u64 = 4 << 20;

/// Where the image's files are: a layout directory (read without following symlinks) or an
/// archive (read in place).
pub(crate) enum Source {
    Layout(PathBuf),
    Archive(ArchiveIndex),
}

impl Source {
    pub fn has(&self, name: &str) -> bool {
        match self {
            Source::Layout(dir) => open_in_dir(dir, name).is_ok(),
            Source::Archive(index) => index.has(name),
        }
    }

    /// The file `name` and its size.
    pub fn open(&self, name: &str) -> Result<(Box<dyn Read + '_>, u64), OciError> {
        match self {
            Source::Layout(dir) => {
                let file = open_in_dir(dir, name)?;
                let size = file.metadata().map_err(OciError::io(dir.join(name)))?.len();
                Ok((Box::new(file), size))
            }
            Source::Archive(index) => {
                let (reader, size) = index.open(name)?;
                Ok((Box::new(reader), size))
            }
        }
    }

    pub fn read_json(&self, name: &str, source: &Path) -> Result<(Vec<u8>, Value), OciError> {
        let bytes = match self {
            Source::Layout(dir) => {
                let (reader, size) = self.open(name)?;
                if size > MAX_JSON {
                    return Err(invalid(
                        source,
                        format!("{name} is too large for image metadata"),
                    ));
                }
                let mut bytes = Vec::new();
                reader
                    .take(MAX_JSON)
                    .read_to_end(&mut bytes)
                    .map_err(OciError::io(dir.join(name)))?;
                bytes
            }
            Source::Archive(index) => index.read_small(name, MAX_JSON)?,
        };
        let value =
            serde_json::from_slice(&bytes).map_err(|e| invalid(source, format!("{name}: {e}")))?;
        Ok((bytes, value))
    }

    /// A JSON blob (manifest, config), checked against its digest.
    pub fn read_json_blob(
        &self,
        what: &'static str,
        digest: &str,
        source: &Path,
    ) -> Result<Value, OciError> {
        let (bytes, value) = self.read_json(&blob_name(digest, source)?, source)?;
        let found = Digest::of(&bytes).to_string();
        if found != digest {
            return Err(mismatch(source, what, digest, "digest", digest, &found));
        }
        Ok(value)
    }
}

/// `dir/name` opened without following any symlink on the way: a layout directory that came
/// from the project (a path literal) may hold links to anywhere.
fn open_in_dir(dir: &Path, name: &str) -> Result<fs::File, OciError> {
    let path = dir.join(name);
    let fail = |e: rustix::io::Errno| OciError::Io {
        path: path.clone(),
        source: e.into(),
    };
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut fd = rustix::fs::open(dir, flags | OFlags::DIRECTORY, Mode::empty()).map_err(fail)?;
    let mut parts = name.split('/').peekable();
    while let Some(part) = parts.next() {
        let last = parts.peek().is_none();
        let flags = if last {
            flags
        } else {
            flags | OFlags::DIRECTORY
        };
        fd = rustix::fs::openat(&fd, part, flags, Mode::empty()).map_err(fail)?;
    }
    let file = fs::File::from(fd);
    let meta = file.metadata().map_err(OciError::io(&path))?;
    if !meta.is_file() {
        return Err(OciError::Io {
            path,
            source: io::Error::other("not a regular file"),
        });
    }
    Ok(file)
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
    let hex = digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .ok_or_else(|| invalid(source, format!("unsupported digest '{digest}'")))?;
    Ok(format!("blobs/sha256/{hex}"))
}
