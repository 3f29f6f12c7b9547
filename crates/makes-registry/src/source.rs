//! Where a push reads its image from: an OCI image layout directory, or the archive makes
//! builds (an uncompressed tar holding `index.json` and `blobs/sha256/...`, see
//! `makes-oci`'s `archive.rs`), read in place: the tar is scanned once for where each file's
//! bytes start, and a blob is then read as a slice of the tar.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::digest::Digest;
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

/// An image source ready to be read.
pub(crate) struct OpenSource {
    path: PathBuf,
    /// For an archive: file name -> (offset of its bytes in the tar, size).
    entries: Option<HashMap<String, (u64, u64)>>,
}

impl OpenSource {
    pub(crate) fn open(source: &ImageSource) -> Result<OpenSource, RegistryError> {
        match source {
            ImageSource::Layout(dir) => {
                if !dir.join("index.json").is_file() {
                    return Err(invalid(dir, "not an OCI image layout (no index.json)"));
                }
                Ok(OpenSource {
                    path: dir.clone(),
                    entries: None,
                })
            }
            ImageSource::Archive(file) => Ok(OpenSource {
                path: file.clone(),
                entries: Some(scan_tar(file)?),
            }),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens the file `name` (`index.json`, `blobs/sha256/<hex>`) and gives its size.
    pub(crate) fn open_file(
        &self,
        name: &str,
    ) -> Result<(Box<dyn Read + Send>, u64), RegistryError> {
        match &self.entries {
            None => {
                let path = self.path.join(name);
                let file = File::open(&path).map_err(|e| match e.kind() {
                    std::io::ErrorKind::NotFound => {
                        invalid(&self.path, &format!("{name} is missing"))
                    }
                    _ => RegistryError::Io {
                        path: path.clone(),
                        source: e,
                    },
                })?;
                let size = file.metadata().map_err(RegistryError::io(&path))?.len();
                Ok((Box::new(BufReader::with_capacity(256 << 10, file)), size))
            }
            Some(entries) => {
                let &(offset, size) = entries.get(name).ok_or_else(|| {
                    invalid(&self.path, &format!("{name} is missing from the archive"))
                })?;
                let mut file = File::open(&self.path).map_err(RegistryError::io(&self.path))?;
                file.seek(SeekFrom::Start(offset))
                    .map_err(RegistryError::io(&self.path))?;
                Ok((
                    Box::new(BufReader::with_capacity(256 << 10, file).take(size)),
                    size,
                ))
            }
        }
    }

    pub(crate) fn open_blob(
        &self,
        digest: &Digest,
    ) -> Result<(Box<dyn Read + Send>, u64), RegistryError> {
        self.open_file(&digest.layout_path())
    }

    /// Reads a small file whole (index.json, a manifest).
    pub(crate) fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, RegistryError> {
        let (reader, size) = self.open_file(name)?;
        if size > limit {
            return Err(invalid(
                &self.path,
                &format!("{name} is larger than {limit} bytes"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        reader
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(RegistryError::io(self.path.join(name)))?;
        Ok(bytes)
    }
}

fn invalid(path: &Path, reason: &str) -> RegistryError {
    RegistryError::InvalidSource {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Where each regular file's bytes are in the tar.
fn scan_tar(path: &Path) -> Result<HashMap<String, (u64, u64)>, RegistryError> {
    let file = File::open(path).map_err(RegistryError::io(path))?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut entries = HashMap::new();
    let not_a_tar =
        |e: std::io::Error| invalid(path, &format!("not a readable uncompressed tar: {e}"));
    for entry in archive.entries().map_err(not_a_tar)? {
        let entry = entry.map_err(not_a_tar)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = entry
            .path()
            .map_err(not_a_tar)?
            .to_string_lossy()
            .into_owned();
        let name = name.strip_prefix("./").unwrap_or(&name).to_string();
        entries.insert(name, (entry.raw_file_position(), entry.size()));
    }
    if !entries.contains_key("index.json") {
        return Err(invalid(path, "not an OCI image archive (no index.json)"));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

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
            missing.to_string().contains("missing from the archive"),
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
