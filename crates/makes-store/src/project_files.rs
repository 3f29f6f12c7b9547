//! Which files of the project evaluation sees. makes evaluates a copy of the project holding
//! only what git tracks (and, outside git, everything but `.git`); instead of copying, the
//! evaluator's file access and the store's source imports ask this view, so that paths keep
//! naming the user's own files (errors point at them) and a clean checkout gives the very store
//! paths a copy would.

use std::cell::RefCell;
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// The project's visible files, shared by the evaluator's I/O and the store built-ins. Until
/// [`ProjectFiles::set`] is called (`makes eval`, or before a project is loaded) every path is
/// visible.
#[derive(Debug, Clone, Default)]
pub struct ProjectFiles(Rc<RefCell<Option<Visible>>>);

#[derive(Debug)]
struct Visible {
    root: PathBuf,
    /// Relative paths of the files git lists and of every directory above them; `None`
    /// outside git, where everything but `.git` is visible.
    listed: Option<HashSet<PathBuf>>,
}

impl ProjectFiles {
    /// Restricts what is visible under `root` (absolute): `listed` are the files (relative to
    /// `root`) that make up the project, or `None` for the whole tree without `.git`.
    pub fn set(&self, root: &Path, listed: Option<Vec<PathBuf>>) {
        let listed = listed.map(|files| {
            let mut all = HashSet::new();
            for file in files {
                let mut dir = file.parent();
                while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                    if !all.insert(d.to_path_buf()) {
                        break;
                    }
                    dir = d.parent();
                }
                all.insert(file);
            }
            all
        });
        *self.0.borrow_mut() = Some(Visible {
            root: root.to_path_buf(),
            listed,
        });
    }

    /// Whether `path` (absolute, as the evaluator spells it) is left out of the project.
    /// Paths outside the project are never hidden.
    pub fn hides(&self, path: &Path) -> bool {
        let visible = self.0.borrow();
        let Some(visible) = visible.as_ref() else {
            return false;
        };
        let Ok(rel) = path.strip_prefix(&visible.root) else {
            return false;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        if rel
            .components()
            .any(|c| c == Component::Normal(".git".as_ref()))
        {
            return true;
        }
        match &visible.listed {
            Some(listed) => !listed.contains(rel),
            None => false,
        }
    }

    /// The error for reading a hidden path, saying why it is not there.
    pub fn hidden_error() -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not part of the project: git does not track it (untracked and ignored files are left out)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_is_visible_until_a_project_is_set() {
        let files = ProjectFiles::default();
        assert!(!files.hides(Path::new("/p/.git/config")));
    }

    #[test]
    fn listed_files_and_their_directories_are_visible_and_nothing_else() {
        let files = ProjectFiles::default();
        files.set(
            Path::new("/p"),
            Some(vec![
                PathBuf::from("src/a/x.nix"),
                PathBuf::from("makes.nix"),
            ]),
        );
        for seen in [
            "/p",
            "/p/makes.nix",
            "/p/src",
            "/p/src/a",
            "/p/src/a/x.nix",
            "/q/y",
        ] {
            assert!(!files.hides(Path::new(seen)), "{seen}");
        }
        for hidden in ["/p/src/b", "/p/untracked", "/p/.git", "/p/src/a/x.nix/z"] {
            assert!(files.hides(Path::new(hidden)), "{hidden}");
        }
    }

    #[test]
    fn outside_git_only_dot_git_is_hidden() {
        let files = ProjectFiles::default();
        files.set(Path::new("/p"), None);
        assert!(!files.hides(Path::new("/p/anything/at/all")));
        assert!(files.hides(Path::new("/p/.git")));
        assert!(files.hides(Path::new("/p/sub/.git/HEAD")));
        assert!(!files.hides(Path::new("/p/.gitignore")));
    }
}
