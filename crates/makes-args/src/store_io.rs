//! Where the evaluator reads files: an `EvalIo` on the real file system that imports path
//! literals into makes' `LocalStore` and reads `/nix/store/...` paths from it (or from the
//! host's Nix store, read only).

use makes_eval::{DiskIo, EvalIo, FileKind};
use makes_store::{LocalStore, StorePath, STORE_DIR};
use std::io;
use std::path::Path;

/// `EvalIo` on the real file system, importing paths into `store`.
pub struct StoreIo {
    store: LocalStore,
    disk: DiskIo,
}

impl StoreIo {
    pub fn new(store: LocalStore) -> Self {
        StoreIo {
            store,
            disk: DiskIo,
        }
    }
}

impl EvalIo for StoreIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.disk.read_file(&self.host_path(path))
    }

    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        self.disk.file_kind(&self.host_path(path))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        self.disk.read_dir(&self.host_path(path))
    }

    fn add_to_store(&self, path: &Path, name: &str) -> io::Result<String> {
        let host = self.host_path(path);
        // A path already in the store is used as it is, as Nix does.
        if let Some(sp) = self.store_path_of(path) {
            return Ok(sp.to_absolute());
        }
        self.store
            .add_source_path(&host, name)
            .map(|p| p.to_absolute())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.disk.is_dir(&self.host_path(path))
    }
}

impl StoreIo {
    /// A `/nix/store/...` path read during evaluation refers to our store on disk.
    /// Where a path read during evaluation is on disk: under `/nix/store`, in makes' store
    /// when it has the entry, otherwise in the host's Nix store (read only).
    fn host_path(&self, path: &Path) -> std::path::PathBuf {
        match path.strip_prefix(STORE_DIR) {
            Ok(rest) if !rest.as_os_str().is_empty() => {
                let ours = self.store.store_dir().join(rest);
                let top = rest
                    .components()
                    .next()
                    .map(|c| self.store.store_dir().join(c));
                if top.is_some_and(|t| std::fs::symlink_metadata(t).is_ok()) {
                    ours
                } else {
                    path.to_path_buf()
                }
            }
            _ => path.to_path_buf(),
        }
    }

    fn store_path_of(&self, path: &Path) -> Option<StorePath> {
        let sp = StorePath::parse(&path.to_string_lossy()).ok()?;
        // A path only Nix's store has is copied into ours first.
        let valid =
            self.store.is_valid(&sp) || matches!(self.store.import_from_nix(&sp), Ok(Some(_)));
        valid.then_some(sp)
    }
}
