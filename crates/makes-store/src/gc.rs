//! Garbage collection: removes every store path that no root (an out-link) reaches.
//!
//! Every `makes` session holds the store's session lock shared for as long as it runs; the
//! collector takes it exclusively, so it never removes a path a running build or evaluation
//! has just added and not yet linked. Holding it, it also sweeps the scratch files of dead
//! sessions (`crate::sweep`).

use crate::error::{io_err, Result};
use crate::fsutil::remove_tree;
use crate::local::LocalStore;
use crate::path::StorePath;
use fs4::fs_std::FileExt;
use std::collections::BTreeSet;
use std::fs;

/// What a collection removed (or, for a dry run, would remove).
#[derive(Debug, Default)]
pub struct GcReport {
    /// Store paths removed, sorted; entries that are not store paths are named by file name.
    pub removed: Vec<String>,
    /// Bytes of NAR serialisation freed (for valid paths).
    pub freed_nar_bytes: u64,
    /// Scratch files of dead sessions swept (not in a dry run), relative to the store root.
    pub swept: Vec<String>,
}

impl LocalStore {
    /// Removes everything in the store that `roots` do not reach through references. With
    /// `dry_run`, only reports what would go.
    pub fn collect_garbage(&self, roots: &[StorePath], dry_run: bool) -> Result<GcReport> {
        let lock = self.session_lock_file()?;
        let lock_path = self.root().join("gc.lock");
        FileExt::lock_exclusive(&lock).map_err(io_err(&lock_path))?;
        let live_roots: Vec<StorePath> =
            roots.iter().filter(|r| self.is_valid(r)).cloned().collect();
        let live: BTreeSet<StorePath> = self
            .closure(&live_roots)?
            .into_iter()
            .map(|i| i.path)
            .collect();

        let mut report = GcReport::default();
        let store_dir = self.store_dir();
        let mut entries: Vec<String> = fs::read_dir(&store_dir)
            .map_err(io_err(&store_dir))?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        entries.sort();
        for base in entries {
            let parsed = StorePath::from_base_name(&base).ok();
            if parsed.as_ref().is_some_and(|p| live.contains(p)) {
                continue;
            }
            if let Some(p) = &parsed {
                if let Ok(info) = self.path_info(p) {
                    report.freed_nar_bytes += info.nar_size;
                }
            }
            report.removed.push(
                parsed
                    .as_ref()
                    .map_or_else(|| base.clone(), StorePath::to_absolute),
            );
            if dry_run {
                continue;
            }
            if let Some(p) = &parsed {
                // Invalidate first: a crash between the two steps leaves an invalid path,
                // which the next build removes anyway.
                let record = self.record_path(p);
                self.valid_paths().forget(&p.base_name());
                if record.exists() {
                    fs::remove_file(&record).map_err(io_err(&record))?;
                }
                let log = self.log_path(p);
                let _ = fs::remove_file(log);
            }
            remove_tree(&store_dir.join(&base))?;
        }
        // Cached layers only save work; after a collection they may describe removed paths.
        let cache = self.root().join("cache");
        if !dry_run && cache.exists() {
            remove_tree(&cache)?;
        }
        if !dry_run {
            report.swept = self.sweep_while_exclusive()?.removed;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_closure_of_roots_and_removes_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::open(dir.path().join("s")).unwrap();
        let src = dir.path().join("src");
        fs::create_dir_all(&src).unwrap();
        fs::write(src.join("dep"), "dep").unwrap();
        fs::write(src.join("other"), "other").unwrap();
        let dep = store.add_source_path(&src.join("dep"), "dep").unwrap();
        let other = store.add_source_path(&src.join("other"), "other").unwrap();
        let root = store
            .add_text(
                "root",
                format!("uses {dep}").as_bytes(),
                std::slice::from_ref(&dep),
            )
            .unwrap();

        let dry = store
            .collect_garbage(std::slice::from_ref(&root), true)
            .unwrap();
        assert_eq!(dry.removed, vec![other.to_absolute()]);
        assert!(store.is_valid(&other), "a dry run removes nothing");

        let report = store
            .collect_garbage(std::slice::from_ref(&root), false)
            .unwrap();
        assert_eq!(report.removed, vec![other.to_absolute()]);
        assert!(store.is_valid(&root) && store.is_valid(&dep));
        assert!(!store.is_valid(&other));
        assert!(!store.real_path(&other).exists());
    }
}
