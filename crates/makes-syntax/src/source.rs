//! Source files and spans: every IR node and every error points back into a file through a
//! small `Span` (file id + byte range), resolved against the `SourceMap` only when reported.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// Index of a file in a `SourceMap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// The span covering both `self` and `other` (same file assumed).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// One loaded source: a file on disk, or an expression given on the command line.
#[derive(Debug)]
pub struct SourceFile {
    /// What reports call it (the path as given, or `«string»`).
    pub name: String,
    /// The file on disk, when there is one; relative paths in it resolve against its directory.
    pub path: Option<PathBuf>,
    pub text: Arc<str>,
}

impl SourceFile {
    /// 1-based line and column of a byte offset.
    pub fn line_col(&self, offset: u32) -> (usize, usize) {
        let offset = (offset as usize).min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// All files loaded in one evaluation. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    files: Rc<RefCell<Vec<Rc<SourceFile>>>>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a source and returns its id.
    pub fn add(&self, name: impl Into<String>, path: Option<&Path>, text: &str) -> FileId {
        self.add_bytes(name, path, text.as_bytes())
    }

    /// Registers a source of any bytes: Nix reads bytes, and strings, comments and quoted
    /// attribute names may hold bytes that are not UTF-8. The parser reads text, so those
    /// bytes become the private-use characters standing for them (`byte_text`), which string
    /// literals and names turn back into the same bytes.
    pub fn add_bytes(&self, name: impl Into<String>, path: Option<&Path>, bytes: &[u8]) -> FileId {
        let mut text: Arc<str> = crate::byte_text::bytes_to_text(bytes).into();
        // Nix reads CR and CRLF as LF (inside strings too; elsewhere both are whitespace).
        if text.contains('\r') {
            text = text.replace("\r\n", "\n").replace('\r', "\n").into();
        }
        let mut files = self.files.borrow_mut();
        files.push(Rc::new(SourceFile {
            name: name.into(),
            path: path.map(Path::to_path_buf),
            text,
        }));
        FileId(u32::try_from(files.len() - 1).unwrap_or(u32::MAX))
    }

    pub fn get(&self, id: FileId) -> Option<Rc<SourceFile>> {
        self.files.borrow().get(id.0 as usize).cloned()
    }
}
