//! Where a push reads its image from: an OCI image layout directory, or the archive makes
//! builds (an uncompressed tar holding `index.json` and `blobs/sha256/...`, see
//! `makes-oci`'s `archive.rs`), read in place: the tar is scanned once for where each file's
//! bytes start, and a blob is then read as a slice of the tar.
//!
//! [`ImageSource`] is also the archive of `skopeo copy oci-archive:` or a layout directory
//! from any OCI tool.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use makes_oci_model::{ArchiveIndex, Digest, ImageFiles, OciModelError};

use crate::error::RegistryError;

/// A local image to push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// A directory holding an OCI image layout.
    Layout(PathBuf),
    /// An uncompressed tar holding an OCI image layout (makes' output archive).
    Archive(PathBuf),
}

impl ImageSource {
    /// A directory is a layout, a file an archive.
    pub fn detect(path: &Path) -> ImageSource {
        if path.is_dir() {
            ImageSource::Layout(path.to_path_buf())
        } else {
            ImageSource::Archive(path.to_path_buf())
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            ImageSource::Layout(p) | ImageSource::Archive(p) => p,
        }
    }
}

/// An image source ready to be read, through the one reader of image layouts and archives
/// (`makes-oci-model`'s [`ImageFiles`]: nothing followed out of the image).
pub(crate) struct OpenSource {
    files: ImageFiles,
}

impl OpenSource {
    pub(crate) fn open(source: &ImageSource) -> Result<OpenSource, RegistryError> {
        let files = match source {
            ImageSource::Layout(dir) => ImageFiles::Layout(dir.clone()),
            ImageSource::Archive(file) => {
                ImageFiles::Archive(ArchiveIndex::read(file).map_err(|e| match e {
                    OciModelError::InvalidImageFiles { reason, .. } => {
                        invalid(file, &format!("not a readable uncompressed tar: {reason}"))
                    }
                    other => RegistryError::from(other),
                })?)
            }
        };
        if !files.has("index.json") {
            let what = match source {
                ImageSource::Layout(_) => "not an OCI image layout (no index.json)",
                ImageSource::Archive(_) => "not an OCI image archive (no index.json)",
            };
            return Err(invalid(files.path(), what));
        }
        Ok(OpenSource { files })
    }

    pub(crate) fn path(&self) -> &Path {
        self.files.path()
    }

    pub(crate) fn open_blob(
        &self,
        digest: &Digest,
    ) -> Result<(Box<dyn Read + Send + '_>, u64), RegistryError> {
        let (reader, size) = self.files.open_blob(digest)?;
        Ok((Box::new(BufReader::with_capacity(256 << 10, reader)), size))
    }

    /// Reads a small file whole (index.json, a manifest).
    pub(crate) fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, RegistryError> {
        Ok(self.files.read_small(name, limit)?)
    }
}

fn invalid(path: &Path, reason: &str) -> RegistryError {
    RegistryError::InvalidSource {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    #[test]
    fn reads_files_in_place_from_a_tar() {
        let dir = tempfile::tempdir().expect("tmp");
        let tar_path = dir.path().join("image.tar");
        let blob = b"layer bytes";
        let digest = Digest::of(blob);
        let mut builder = tar::Builder::new(File::create(&tar_path).expect("create"));
        for (name, data) in [
            ("oci-layout".to_string(), &b"{}"[..]),
            (digest.layout_path(), &blob[..]),
            ("index.json".to_string(), &b"{\"x\":1}"[..]),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            builder.append_data(&mut h, name, data).expect("append");
        }
        builder.finish().expect("finish");
        drop(builder);

        let src = OpenSource::open(&ImageSource::detect(&tar_path)).expect("opens");
        assert_eq!(
            src.read_small("index.json", 100).expect("index"),
            b"{\"x\":1}"
        );
        let (mut r, size) = src.open_blob(&digest).expect("blob");
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("read");
        assert_eq!((out.as_slice(), size), (&blob[..], blob.len() as u64));
        let missing = src.open_blob(&Digest::of(b"other")).err().expect("missing");
        assert!(
            missing.to_string().contains("is not in the archive"),
            "{missing}"
        );
        assert!(src.read_small("index.json", 2).is_err());
    }

    #[test]
    fn rejects_what_is_not_an_image() {
        let dir = tempfile::tempdir().expect("tmp");
        assert!(OpenSource::open(&ImageSource::Layout(dir.path().to_path_buf())).is_err());
        let junk = dir.path().join("junk.tar");
        std::fs::write(&junk, b"not a tar at all").expect("write");
        assert!(OpenSource::open(&ImageSource::Archive(junk)).is_err());
    }
}
