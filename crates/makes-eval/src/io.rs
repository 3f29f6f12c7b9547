//! `EvalIo`: the evaluator's only way to the outside world (files, the store), so that it can
//! run purely in memory in tests and be joined to the real store by the CLI.

use std::io;
use std::path::Path;

/// What kind of file system object a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FileKind {
    Regular,
    Directory,
    Symlink,
    Unknown,
}

impl FileKind {
    /// The name `builtins.readDir` and `readFileType` use.
    pub fn nix_name(self) -> &'static str {
        match self {
            FileKind::Regular => "regular",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symlink",
            FileKind::Unknown => "unknown",
        }
    }
}

/// File access and store import, as the evaluator needs them.
pub trait EvalIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// The kind of `path`, not following a final symlink; `Ok(None)` if it does not exist.
    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>>;
    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>>;
    /// Copies `path` into the store under `name` (as coercing a path to a string does) and
    /// returns the absolute store path.
    fn add_to_store(&self, path: &Path, name: &str) -> io::Result<String>;
    /// Told the absolute paths of the constant path literals of a file just parsed, before it
    /// is evaluated: an implementation may check them ahead (on another thread), as long as
    /// `add_to_store` then answers exactly as it would have without the hint.
    fn expect_paths(&self, _paths: Vec<String>) {}
    /// Whether `path` follows a symlink to a directory (for `import dir`).
    fn is_dir(&self, path: &Path) -> bool {
        std::fs::metadata(path).map(|m| m.is_dir()).unwrap_or(false)
    }
    /// The output paths, by output name, of the derivation `drv_path` this evaluation
    /// instantiated (what a string context naming it or one of its outputs stands for);
    /// `None` for a derivation it does not know.
    fn derivation_outputs(&self, _drv_path: &str) -> Option<Vec<(String, String)>> {
        None
    }
}

/// Reads the real file system; cannot import into a store (the store crate supplies that).
#[derive(Debug, Default)]
pub struct DiskIo;

impl EvalIo for DiskIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        // Opening a FIFO blocks until a writer comes, and a device may never end: only
        // regular files are read (the check follows symlinks, as reading does).
        let kind = std::fs::metadata(path)?.file_type();
        if !kind.is_file() && !kind.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{} is {}, not a regular file",
                    path.display(),
                    special_kind(&kind)
                ),
            ));
        }
        std::fs::read(path)
    }

    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        match std::fs::symlink_metadata(path) {
            Ok(m) => Ok(Some(kind_of(&m.file_type()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let kind = kind_of(&entry.file_type()?);
            // Names become attribute names, which are UTF-8 here: another name is an
            // error rather than a different name.
            let name = entry.file_name().into_string().map_err(|name| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the file name {name:?} is not valid UTF-8"),
                )
            })?;
            out.push((name, kind));
        }
        out.sort();
        Ok(out)
    }

    fn add_to_store(&self, path: &Path, _name: &str) -> io::Result<String> {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!(
                "cannot copy '{}' to the store: no store is configured",
                path.display()
            ),
        ))
    }
}

/// "a FIFO", "a socket", ...: what a path that is neither a file nor a directory is.
fn special_kind(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else {
        "not a file"
    }
}

pub fn kind_of(t: &std::fs::FileType) -> FileKind {
    if t.is_symlink() {
        FileKind::Symlink
    } else if t.is_dir() {
        FileKind::Directory
    } else if t.is_file() {
        FileKind::Regular
    } else {
        FileKind::Unknown
    }
}
