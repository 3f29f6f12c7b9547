//! Where the evaluator reads files: an `EvalIo` on the real file system that imports path
//! literals into makes' `LocalStore` and reads `/nix/store/...` paths from it (or from the
//! host's Nix store, read only).

use crate::source_checks::SourceChecks;
use makes_eval::{DiskIo, EvalIo, FileKind};
use makes_store::{LocalStore, ProjectFiles, StorePath, STORE_DIR};
use std::io;
use std::path::Path;
use std::rc::Rc;

/// The output paths, by name, of a derivation the evaluation instantiated, given its `.drv`
/// path (the session's derivation registry answers).
pub type DerivationOutputs = Rc<dyn Fn(&str) -> Option<Vec<(String, String)>>>;

/// Makes the store path (the top entry of a path evaluation is about to read) present when
/// it is a fetch that waits for a use; leaves any other path alone.
pub type BeforeRead = Rc<dyn Fn(&StorePath) -> io::Result<()>>;

/// `EvalIo` on the real file system, importing paths into `store`.
pub struct StoreIo {
    store: LocalStore,
    disk: DiskIo,
    /// What of the project evaluation may see.
    project_files: ProjectFiles,
    derivation_outputs: Option<DerivationOutputs>,
    before_read: Option<BeforeRead>,
    /// The path literals of parsed files, checked ahead on another thread.
    source_checks: SourceChecks,
}

impl StoreIo {
    pub fn new(store: LocalStore, project_files: ProjectFiles) -> Self {
        StoreIo {
            store,
            disk: DiskIo,
            project_files,
            derivation_outputs: None,
            before_read: None,
            source_checks: SourceChecks::default(),
        }
    }

    /// The same, letting `before_read` fetch a store path before it is read.
    pub fn with_before_read(mut self, before_read: BeforeRead) -> Self {
        self.before_read = Some(before_read);
        self
    }

    /// Runs the `before_read` hook for the store entry `path` is in, if any.
    fn before_read(&self, path: &Path) -> io::Result<()> {
        let Some(hook) = &self.before_read else {
            return Ok(());
        };
        let top = path
            .strip_prefix(STORE_DIR)
            .ok()
            .and_then(|rest| rest.components().next())
            .and_then(|c| c.as_os_str().to_str())
            .and_then(|name| StorePath::from_base_name(name).ok());
        match top {
            Some(store_path) => hook(&store_path),
            None => Ok(()),
        }
    }

    /// The same, resolving the outputs of instantiated derivations with `outputs`.
    pub fn with_derivation_outputs(mut self, outputs: DerivationOutputs) -> Self {
        self.derivation_outputs = Some(outputs);
        self
    }

    /// Fails for a path the project leaves out, as if it did not exist.
    fn visible(&self, path: &Path) -> io::Result<()> {
        if self.project_files.hides(path) {
            return Err(ProjectFiles::hidden_error(path));
        }
        Ok(())
    }
}

impl EvalIo for StoreIo {
    fn read_file(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.visible(path)?;
        self.before_read(path)?;
        // Reading follows symlinks: a tracked one must not lead to a file the project leaves
        // out (in makes' copy of the project it would dangle).
        if let Ok(target) = std::fs::canonicalize(path) {
            self.visible(&target)?;
        }
        self.disk
            .read_file(&self.host_path(path))
            .map_err(|e| self.explain_unbuilt(path, e))
    }

    fn file_kind(&self, path: &Path) -> io::Result<Option<FileKind>> {
        if self.project_files.hides(path) {
            return Ok(None);
        }
        self.before_read(path)?;
        self.disk.file_kind(&self.host_path(path))
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<(String, FileKind)>> {
        self.visible(path)?;
        self.before_read(path)?;
        let mut entries = self
            .disk
            .read_dir(&self.host_path(path))
            .map_err(|e| self.explain_unbuilt(path, e))?;
        entries.retain(|(name, _)| !self.project_files.hides(&path.join(name)));
        Ok(entries)
    }

    fn add_to_store(&self, path: &Path, name: &str) -> io::Result<String> {
        self.visible(path)?;
        self.before_read(path)?;
        let host = self.host_path(path);
        // A path already in the store is used as it is, as Nix does.
        if let Some(sp) = self.store_path_of(path) {
            return Ok(sp.to_absolute());
        }
        let keep = |p: &Path| !self.project_files.hides(p);
        let checked = self.source_checks.take(path, &self.project_files);
        self.store
            .add_checked_path(&host, name, &keep, checked)
            .map(|p| p.to_absolute())
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn expect_paths(&self, paths: Vec<String>) {
        self.source_checks
            .start(&self.store, self.project_files.snapshot(), paths);
    }

    fn is_dir(&self, path: &Path) -> bool {
        // A fetch that fails here fails again, with its message, when the path is read.
        !self.project_files.hides(path)
            && self.before_read(path).is_ok()
            && self.disk.is_dir(&self.host_path(path))
    }

    fn derivation_outputs(&self, drv_path: &str) -> Option<Vec<(String, String)>> {
        self.derivation_outputs.as_ref().and_then(|f| f(drv_path))
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

    /// A store path that neither store has is the output of a build that has not run (a
    /// package of a set, a fetch): evaluation does not build (Nix would, as import from
    /// derivation), so reading it fails, saying so rather than "No such file".
    fn explain_unbuilt(&self, path: &Path, error: io::Error) -> io::Error {
        if error.kind() != io::ErrorKind::NotFound {
            return error;
        }
        let Some(top) = path
            .strip_prefix(STORE_DIR)
            .ok()
            .and_then(|rest| rest.components().next())
        else {
            return error;
        };
        let top = Path::new(STORE_DIR).join(top);
        let in_ours = self.store_path_of(&top).is_some();
        if in_ours || std::fs::symlink_metadata(&top).is_ok() {
            return error;
        }
        let name = top
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.split_once('-'))
            .map_or("", |(_, name)| name);
        io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{} is the output of '{name}', which is not built: makes does not build while \
                 evaluating, so a package's or a fetch's output cannot be read during \
                 evaluation (import from derivation is not supported)",
                top.display()
            ),
        )
    }

    fn store_path_of(&self, path: &Path) -> Option<StorePath> {
        let sp = StorePath::parse(&path.to_string_lossy()).ok()?;
        // A path only Nix's store has is copied into ours first.
        let valid =
            self.store.is_valid(&sp) || matches!(self.store.import_from_nix(&sp), Ok(Some(_)));
        valid.then_some(sp)
    }
}
