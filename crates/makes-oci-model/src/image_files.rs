//! The one reader of image files: an OCI image layout directory, or an image archive (an
//! uncompressed tar: makes' own, `skopeo copy oci-archive:`, `docker save`) read in place.
//! Used for base images (`fromImage`) and for the images `makes push` sends.
//!
//! Neither follows anything out of the image: inside a layout directory no symlink is
//! followed (one that came from a project as a path literal may link anywhere), and an
//! archive is never unpacked, its links followed by name inside it only ([`ArchiveIndex`]).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags};

use crate::archive_index::ArchiveIndex;
use crate::digest::Digest;
use crate::error::OciModelError;

/// Where an image's files are.
#[derive(Debug)]
pub enum ImageFiles {
    /// A layout directory, read without following symlinks below it.
    Layout(PathBuf),
    /// An archive, read in place.
    Archive(ArchiveIndex),
}

impl ImageFiles {
    /// A directory is a layout, anything else is read as an archive.
    pub fn open(path: &Path) -> Result<ImageFiles, OciModelError> {
        if path.is_dir() {
            Ok(ImageFiles::Layout(path.to_owned()))
        } else {
            Ok(ImageFiles::Archive(ArchiveIndex::read(path)?))
        }
    }

    /// The layout directory or the archive file.
    pub fn path(&self) -> &Path {
        match self {
            ImageFiles::Layout(dir) => dir,
            ImageFiles::Archive(index) => index.path(),
        }
    }

    /// Whether there is a regular file `name` (`index.json`, `blobs/sha256/<hex>`).
    pub fn has(&self, name: &str) -> bool {
        match self {
            ImageFiles::Layout(dir) => open_in_dir(dir, name).is_ok(),
            ImageFiles::Archive(index) => index.has(name),
        }
    }

    /// The file `name` and its size.
    pub fn open_file(&self, name: &str) -> Result<(Box<dyn Read + Send + '_>, u64), OciModelError> {
        match self {
            ImageFiles::Layout(dir) => {
                let file = open_in_dir(dir, name)?;
                let size = file
                    .metadata()
                    .map_err(OciModelError::io(dir.join(name)))?
                    .len();
                Ok((Box::new(file), size))
            }
            ImageFiles::Archive(index) => {
                let (reader, size) = index.open(name)?;
                Ok((Box::new(reader), size))
            }
        }
    }

    /// The blob `digest` and its size.
    pub fn open_blob(
        &self,
        digest: &Digest,
    ) -> Result<(Box<dyn Read + Send + '_>, u64), OciModelError> {
        self.open_file(&digest.layout_path())
    }

    /// The whole file `name` (image metadata: `index.json`, a manifest, a config), refused
    /// past `limit` bytes.
    pub fn read_small(&self, name: &str, limit: u64) -> Result<Vec<u8>, OciModelError> {
        match self {
            ImageFiles::Layout(dir) => {
                let (reader, size) = self.open_file(name)?;
                if size > limit {
                    return Err(OciModelError::InvalidImageFiles {
                        path: dir.clone(),
                        reason: format!("{name} is too large for image metadata"),
                    });
                }
                let mut bytes = Vec::with_capacity(size as usize);
                reader
                    .take(limit)
                    .read_to_end(&mut bytes)
                    .map_err(OciModelError::io(dir.join(name)))?;
                Ok(bytes)
            }
            ImageFiles::Archive(index) => index.read_small(name, limit),
        }
    }
}

/// `dir/name` opened without following any symlink below `dir`.
fn open_in_dir(dir: &Path, name: &str) -> Result<fs::File, OciModelError> {
    let path = dir.join(name);
    let fail = |e: rustix::io::Errno| OciModelError::Io {
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
    let meta = file.metadata().map_err(OciModelError::io(&path))?;
    if !meta.is_file() {
        return Err(OciModelError::Io {
            path,
            source: io::Error::other("not a regular file"),
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_layout_is_read_without_following_links_below_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let layout = dir.path().join("layout");
        fs::create_dir_all(layout.join("blobs/sha256")).expect("mkdir");
        fs::write(layout.join("index.json"), b"{}").expect("write");
        let outside = dir.path().join("secret");
        fs::write(&outside, b"secret").expect("write");
        std::os::unix::fs::symlink(&outside, layout.join("blobs/sha256/link")).expect("link");
        let files = ImageFiles::open(&layout).expect("opens");
        assert_eq!(files.read_small("index.json", 10).expect("index"), b"{}");
        assert!(files.read_small("index.json", 1).is_err(), "over the limit");
        assert!(!files.has("blobs/sha256/link"));
        assert!(files.open_file("blobs/sha256/link").is_err());
        assert!(files.open_file("missing").is_err());
    }

    #[test]
    fn an_archive_is_read_in_place() {
        let dir = tempfile::tempdir().expect("tmp");
        let tar_path = dir.path().join("image.tar");
        let blob = b"layer bytes";
        let digest = Digest::of(blob);
        let mut builder = tar::Builder::new(fs::File::create(&tar_path).expect("create"));
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
        let files = ImageFiles::open(&tar_path).expect("opens");
        assert_eq!(files.path(), tar_path);
        let (mut r, size) = files.open_blob(&digest).expect("blob");
        let mut out = Vec::new();
        r.read_to_end(&mut out).expect("read");
        assert_eq!((out.as_slice(), size), (&blob[..], blob.len() as u64));
        assert!(files.open_blob(&Digest::of(b"other")).is_err());
        let junk = dir.path().join("junk.tar");
        fs::write(&junk, b"not a tar at all").expect("write");
        assert!(ImageFiles::open(&junk).is_err());
    }
}
