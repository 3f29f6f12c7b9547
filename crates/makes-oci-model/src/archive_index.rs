//! An image archive (OCI or docker, an uncompressed tar) read in place: one pass lists where
//! each regular file's bytes are; files are then read straight from the archive by name.
//! Nothing is unpacked, so no name, symlink or hard link in it can write anywhere. Symlinks
//! and hard links between files of the archive (`docker save` links repeated layers) are
//! followed by name inside the archive only; one that leaves it leads nowhere.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::OciModelError;

/// Links followed from one name before giving up.
const MAX_LINKS: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    File {
        offset: u64,
        size: u64,
    },
    /// A symlink or hard link to another name of the archive; `None` if it leaves it.
    Link(Option<String>),
}

/// The files of an archive, by their cleaned names.
#[derive(Debug)]
pub struct ArchiveIndex {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
}

fn invalid(path: &Path, reason: impl Into<String>) -> OciModelError {
    OciModelError::InvalidImageFiles {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// `name` without `.` parts and empty parts; `None` if it is absolute or climbs with `..`
/// (no tool writes such names into an image archive).
fn clean_name(name: &str) -> Option<String> {
    if name.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// Where the symlink `name -> target` leads inside the archive, if it stays inside.
fn symlink_destination(name: &str, target: &str) -> Option<String> {
    if target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    parts.pop();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

impl ArchiveIndex {
    /// Lists the archive at `path` (an uncompressed tar).
    pub fn read(path: &Path) -> Result<ArchiveIndex, OciModelError> {
        let file = File::open(path).map_err(OciModelError::io(path))?;
        let mut archive = tar::Archive::new(file);
        let mut entries = BTreeMap::new();
        for entry in archive.entries().map_err(OciModelError::io(path))? {
            let entry = entry.map_err(|e| invalid(path, format!("not a readable tar: {e}")))?;
            let raw = entry.path_bytes();
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir() {
                continue;
            }
            let name = clean_name(&raw)
                .ok_or_else(|| invalid(path, format!("unsafe path {raw:?} in the archive")))?;
            let link = entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned());
            let record = match (kind, link) {
                (tar::EntryType::Regular | tar::EntryType::Continuous, _) => Entry::File {
                    offset: entry.raw_file_position(),
                    size: entry.size(),
                },
                (tar::EntryType::Symlink, Some(target)) => {
                    Entry::Link(symlink_destination(&name, &target))
                }
                (tar::EntryType::Link, Some(target)) => Entry::Link(clean_name(&target)),
                // Devices, fifos and the like are never read.
                _ => continue,
            };
            entries.insert(name, record);
        }
        Ok(ArchiveIndex {
            path: path.to_owned(),
            entries,
        })
    }

    /// Whether the archive has a file called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.locate(name).is_ok()
    }

    fn locate(&self, name: &str) -> Result<(u64, u64), OciModelError> {
        let missing = || invalid(&self.path, format!("{name} is not in the archive"));
        let mut current = clean_name(name).ok_or_else(missing)?;
        for _ in 0..MAX_LINKS {
            match self.entries.get(&current) {
                Some(Entry::File { offset, size }) => return Ok((*offset, *size)),
                Some(Entry::Link(Some(next))) => current = next.clone(),
                Some(Entry::Link(None)) => {
                    return Err(invalid(
                        &self.path,
                        format!("{name} is a link that leads out of the archive"),
                    ))
                }
                None => return Err(missing()),
            }
        }
        Err(invalid(&self.path, format!("{name}: too many links")))
    }

    /// The archive file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The bytes of the file `name` and their length.
    pub fn open(&self, name: &str) -> Result<(impl Read + Send, u64), OciModelError> {
        let (offset, size) = self.locate(name)?;
        let mut file = File::open(&self.path).map_err(OciModelError::io(&self.path))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(OciModelError::io(&self.path))?;
        Ok((file.take(size), size))
    }

    /// The whole file `name`, refused past `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, OciModelError> {
        let (reader, size) = self.open(name)?;
        if size > limit {
            return Err(invalid(
                &self.path,
                format!("{name} is too large for image metadata"),
            ));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        let mut reader = reader;
        io::copy(&mut reader, &mut bytes).map_err(OciModelError::io(&self.path))?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, tar::EntryType, &str)]) -> tempfile::NamedTempFile {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            let body: &[u8] = if kind.is_file() { data.as_bytes() } else { b"" };
            header.set_size(body.len() as u64);
            let name = header.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            if !kind.is_file() {
                let link = header.as_old_mut().linkname.as_mut();
                link[..data.len()].copy_from_slice(data.as_bytes());
            }
            header.set_cksum();
            builder.append(&header, body).unwrap();
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), builder.into_inner().unwrap()).unwrap();
        file
    }

    use tar::EntryType::{Link as H, Regular as F, Symlink as S};

    #[test]
    fn files_are_read_in_place_and_links_followed_inside() {
        let a = archive(&[
            ("./index.json", F, "{}"),
            ("a/layer.tar", F, "layer bytes"),
            ("b/layer.tar", S, "../a/layer.tar"),
            ("c", H, "a/layer.tar"),
            ("out", S, "../../etc/passwd"),
            ("abs", S, "/etc/passwd"),
        ]);
        let index = ArchiveIndex::read(a.path()).unwrap();
        assert_eq!(index.read_small("index.json", 10).unwrap(), b"{}");
        assert_eq!(
            index.read_small("b/layer.tar", 100).unwrap(),
            b"layer bytes"
        );
        assert_eq!(index.read_small("c", 100).unwrap(), b"layer bytes");
        assert!(
            index.read_small("a/layer.tar", 3).is_err(),
            "over the limit"
        );
        for name in ["out", "abs", "missing", "../index.json"] {
            assert!(index.read_small(name, 100).is_err(), "{name}");
        }
    }

    #[test]
    fn names_that_climb_or_are_absolute_are_refused() {
        for bad in ["../x", "/etc/passwd", "a/../../x"] {
            let a = archive(&[(bad, F, "x")]);
            let err = ArchiveIndex::read(a.path()).unwrap_err().to_string();
            assert!(err.contains("unsafe path"), "{err}");
        }
    }
}
