//! The path literals of a project file, checked ahead of evaluation on another thread: while
//! the evaluator works through the file, a worker asks the store whether each literal's tree
//! is unchanged since it was imported (`LocalStore::check_source`: one `lstat` per entry,
//! remembered listings and fingerprints), so that copying it to the store later only looks
//! the answer up. The worker only reads (and remembers directory listings, as any walk
//! does); a literal it has not checked, or found changed or new, is walked and imported by
//! the evaluator as without it, so results are the same whether or not it ran.

use makes_store::{LocalStore, ProjectFiles, SourceCheck, VisibleFiles, STORE_DIR};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

/// Fewer literals than this in a file are left to the evaluator: starting a thread costs
/// about as much as checking a few small trees.
const MIN_PATHS: usize = 8;

/// The checks of the literals of the files parsed so far, shared with their workers.
#[derive(Debug, Default)]
pub(crate) struct SourceChecks {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// By the path's bytes: hashing a `Path` goes component by component, and the evaluator
    /// asks here for every path it copies.
    slots: Mutex<Slots>,
    /// Signalled when a check ends that someone waits for.
    checked: Condvar,
}

#[derive(Debug, Default)]
struct Slots {
    by_path: HashMap<Box<[u8]>, Slot>,
    /// How many wait on `checked`: signalling costs a system call, worth it only then.
    waiters: usize,
}

#[derive(Debug)]
enum Slot {
    /// Not started: whoever comes first (the worker, or the evaluator itself) does it.
    Waiting,
    /// The worker is checking it.
    Checking,
    /// The worker's answer, and what was visible of the project when it checked.
    Checked(SourceCheck, VisibleFiles),
}

impl Shared {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        // A panic while the lock was held leaves whole slots (each is set in one step).
        self.slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ends the worker's part in `path`: its answer, or `None` to leave it to the evaluator.
    fn finish(&self, path: &[u8], answer: Option<Slot>) {
        let mut slots = self.slots();
        match answer {
            Some(slot) => slots.by_path.insert(path.into(), slot),
            None => slots.by_path.remove(path),
        };
        let waited_for = slots.waiters > 0;
        drop(slots);
        if waited_for {
            self.checked.notify_all();
        }
    }
}

impl SourceChecks {
    /// Starts checking `paths` (absolute, as the evaluator will spell them) on a new thread,
    /// as `visible` filters them. Only paths inside the project are checked (by the worker,
    /// which leaves the others to the evaluator): a literal elsewhere (a store path, a file
    /// of makes' own) may well never be copied.
    pub(crate) fn start(&self, store: &LocalStore, visible: VisibleFiles, paths: Vec<String>) {
        if paths.len() < MIN_PATHS || !visible.is_inside(Path::new(&paths[0])) {
            return;
        }
        {
            let mut slots = self.shared.slots();
            for path in &paths {
                slots
                    .by_path
                    .entry(path.as_bytes().into())
                    .or_insert(Slot::Waiting);
            }
        }
        let shared = self.shared.clone();
        let store = store.clone();
        let spawned = std::thread::Builder::new()
            .name("source-checks".into())
            .spawn(move || check_all(&shared, &store, &visible, paths));
        if let Err(error) = spawned {
            // No thread: the evaluator does them all, as without one. The paths went with
            // the closure; the slots are cleared of every one not started.
            drop(error);
            self.shared
                .slots()
                .by_path
                .retain(|_, slot| !matches!(slot, Slot::Waiting));
        }
    }

    /// The worker's answer for `path`, waiting for it if the worker is at it; `None` if the
    /// worker has not started on it (then it never will: the caller does it), left it to the
    /// evaluator, or checked it with another project than the one set now.
    pub(crate) fn take(&self, path: &Path, visible_now: &ProjectFiles) -> Option<SourceCheck> {
        let key = path.as_os_str().as_bytes();
        let mut slots = self.shared.slots();
        loop {
            match slots.by_path.remove(key)? {
                Slot::Waiting => return None,
                Slot::Checked(check, visible) => {
                    return visible_now.is_current(&visible).then_some(check)
                }
                Slot::Checking => {
                    slots.by_path.insert(key.into(), Slot::Checking);
                    slots.waiters += 1;
                    slots = self
                        .shared
                        .checked
                        .wait(slots)
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    slots.waiters -= 1;
                }
            }
        }
    }
}

/// The worker: checks each path still waiting, from the last (evaluation mostly asks for a
/// file's literals from the first, so the two meet without asking for the same ones).
fn check_all(shared: &Shared, store: &LocalStore, visible: &VisibleFiles, paths: Vec<String>) {
    // While the evaluator reads the remembered listings for its first path.
    store.prepare_source_checks(paths.len());
    let keep = |p: &Path| !visible.hides(p);
    for path in paths.iter().rev() {
        let key = path.as_bytes();
        {
            let mut slots = shared.slots();
            match slots.by_path.get_mut(key) {
                Some(slot @ Slot::Waiting) => *slot = Slot::Checking,
                _ => continue,
            }
        }
        let fs_path = Path::new(path);
        // The project's root is mostly a source given with a filter (`builtins.path`,
        // `cleanSource`): checking the whole tree could cost far more than the copy.
        if path.starts_with(STORE_DIR)
            || !visible.is_inside(fs_path)
            || visible.root() == Some(fs_path)
            || visible.hides(fs_path)
        {
            shared.finish(key, None);
            continue;
        }
        // The name the evaluator copies a path literal under (another misses, harmlessly).
        let name = fs_path
            .file_name()
            .map_or_else(|| "source".into(), |n| n.to_string_lossy());
        let check = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            store.check_source(fs_path, &name, &keep)
        }));
        // A check that panicked is the evaluator's to do (and to report).
        shared.finish(key, check.ok().map(|c| Slot::Checked(c, visible.clone())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// Waits until the workers have ended their part in every slot.
    fn settled(checks: &SourceChecks) {
        while checks
            .shared
            .slots()
            .by_path
            .values()
            .any(|slot| !matches!(slot, Slot::Checked(..)))
        {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    #[test]
    fn checked_paths_give_what_importing_them_gives() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let project = tmp.path().join("p");
        let mut paths = Vec::new();
        for n in 0..MIN_PATHS + 2 {
            let dir = project.join(format!("part{n}"));
            std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
            std::fs::write(dir.join("bin/tool"), format!("tool {n}")).expect("write");
            paths.push(dir.to_string_lossy().into_owned());
        }
        std::fs::create_dir_all(project.join(".git")).expect("mkdir");
        let store = LocalStore::open(tmp.path().join("store")).expect("store");
        let files = ProjectFiles::default();
        files.set(&project, None);
        let keep = |p: &Path| !files.hides(p);
        let imported: Vec<_> = paths
            .iter()
            .map(|p| {
                let name = Path::new(p).file_name().expect("a name").to_string_lossy();
                store
                    .add_filtered_path(Path::new(p), &name, &keep)
                    .expect("imports")
            })
            .collect();
        // Changed after the import, before the check: the check sees the change.
        std::fs::write(project.join("part0/bin/tool"), "changed").expect("write");
        let root = project.to_string_lossy().into_owned();
        let missing = project.join("missing").to_string_lossy().into_owned();
        let hidden = project.join(".git").to_string_lossy().into_owned();
        let mut asked = paths.clone();
        asked.extend([missing.clone(), hidden.clone(), root.clone()]);

        let checks = SourceChecks::default();
        checks.start(&store, files.snapshot(), asked);
        settled(&checks);
        for (n, (path, first)) in paths.iter().zip(&imported).enumerate() {
            let name = Path::new(path)
                .file_name()
                .expect("a name")
                .to_string_lossy();
            let check = checks.take(Path::new(path), &files);
            assert!(check.is_some(), "{path} was checked");
            let added = store
                .add_checked_path(Path::new(path), &name, &keep, check)
                .expect("adds");
            let fresh = LocalStore::open(tmp.path().join(format!("fresh{n}"))).expect("store");
            let plain = fresh
                .add_filtered_path(Path::new(path), &name, &keep)
                .expect("imports");
            assert_eq!(added, plain, "{path}");
            assert_eq!(added == *first, n != 0, "{path}: only part0 changed");
        }
        // Left to the evaluator, which reports them as without the worker.
        assert!(checks.take(Path::new(&hidden), &files).is_none());
        assert!(checks.take(Path::new(&root), &files).is_none());
        let check = checks.take(Path::new(&missing), &files);
        let error = store.add_checked_path(Path::new(&missing), "missing", &keep, check);
        let plain = store.add_filtered_path(Path::new(&missing), "missing", &keep);
        assert_eq!(
            error.expect_err("missing").to_string(),
            plain.expect_err("missing").to_string()
        );
        // Asked once: a second ask is the caller's to do.
        assert!(checks.take(Path::new(&paths[1]), &files).is_none());
    }

    #[test]
    fn a_check_against_another_project_is_not_used() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let project = tmp.path().join("p");
        let paths: Vec<String> = (0..MIN_PATHS)
            .map(|n| {
                let file = project.join(format!("f{n}"));
                std::fs::create_dir_all(&project).expect("mkdir");
                std::fs::write(&file, "x").expect("write");
                file.to_string_lossy().into_owned()
            })
            .collect();
        let store = LocalStore::open(tmp.path().join("store")).expect("store");
        let files = ProjectFiles::default();
        files.set(&project, None);
        let checks = SourceChecks::default();
        checks.start(&store, files.snapshot(), paths.clone());
        settled(&checks);
        files.set(&project, Some(vec![PathBuf::from("f0")]));
        assert!(checks.take(Path::new(&paths[1]), &files).is_none());
    }

    #[test]
    fn asking_for_a_path_being_checked_waits_for_the_answer() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(tmp.path().join("store")).expect("store");
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").expect("write");
        let files = ProjectFiles::default();
        files.set(tmp.path(), None);
        let checks = SourceChecks::default();
        let key: Box<[u8]> = file.as_os_str().as_bytes().into();
        checks
            .shared
            .slots()
            .by_path
            .insert(key.clone(), Slot::Checking);
        let answer = store.check_source(&file, "f", &|_| true);
        let worker = std::thread::spawn({
            let (shared, answer, visible) =
                (checks.shared.clone(), answer.clone(), files.snapshot());
            move || {
                // Answers only once the evaluator waits.
                while shared.slots().waiters == 0 {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                shared.finish(&key, Some(Slot::Checked(answer, visible)));
            }
        });
        assert_eq!(checks.take(&file, &files), Some(answer));
        worker.join().expect("the worker ends");
        assert_eq!(checks.shared.slots().waiters, 0);
    }

    #[test]
    fn paths_outside_the_project_start_no_worker() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = LocalStore::open(tmp.path().join("store")).expect("store");
        let files = ProjectFiles::default();
        files.set(&tmp.path().join("p"), None);
        let checks = SourceChecks::default();
        let elsewhere = (0..MIN_PATHS).map(|n| format!("/elsewhere/{n}")).collect();
        checks.start(&store, files.snapshot(), elsewhere);
        assert!(checks.shared.slots().by_path.is_empty());
    }
}
