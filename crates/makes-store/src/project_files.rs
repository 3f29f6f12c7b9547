//! Which files of the project evaluation sees. makes evaluates a copy of the project holding
//! only what git tracks (and, outside git, everything but `.git`); instead of copying, the
//! evaluator's file access and the store's source imports ask this view, so that paths keep
//! naming the user's own files (errors point at them) and a clean checkout gives the very store
//! paths a copy would.

use std::cell::RefCell;
use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// The project's visible files, shared by the evaluator's I/O and the store built-ins. Until
/// [`ProjectFiles::set`] is called (`makes eval`, or before a project is loaded) every path is
/// visible.
#[derive(Debug, Clone, Default)]
pub struct ProjectFiles(Rc<RefCell<VisibleFiles>>);

/// What [`ProjectFiles`] lets evaluation see at one moment, for use on another thread (the
/// project is set once, before evaluation).
#[derive(Debug, Clone, Default)]
pub struct VisibleFiles(Option<Arc<Visible>>);

#[derive(Debug)]
struct Visible {
    root: PathBuf,
    /// `None` outside git, where everything but `.git` is visible.
    listed: Option<Listing>,
}

/// What git lists, relative to the project root.
#[derive(Debug, Default)]
struct Listing {
    files: HashSet<PathBuf>,
    /// Every directory above a listed file.
    dirs: HashSet<PathBuf>,
}

/// How many tracked symlinks a path may go through (as the kernel's limit on symlink chains).
const MAX_SYMLINKS: u32 = 40;

impl ProjectFiles {
    /// Restricts what is visible under `root` (absolute): `listed` are the files (relative to
    /// `root`) that make up the project, or `None` for the whole tree without `.git`.
    pub fn set(&self, root: &Path, listed: Option<Vec<PathBuf>>) {
        let listed = listed.map(|files| {
            let mut listing = Listing::default();
            for file in files {
                let mut dir = file.parent();
                while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
                    if !listing.dirs.insert(d.to_path_buf()) {
                        break;
                    }
                    dir = d.parent();
                }
                listing.files.insert(file);
            }
            listing
        });
        *self.0.borrow_mut() = VisibleFiles(Some(Arc::new(Visible {
            root: root.to_path_buf(),
            listed,
        })));
    }

    /// Whether `path` (absolute, as the evaluator spells it) is left out of the project.
    /// Paths outside the project are never hidden.
    pub fn hides(&self, path: &Path) -> bool {
        self.0.borrow().hides(path)
    }

    /// What is visible now, as a value another thread can ask.
    pub fn snapshot(&self) -> VisibleFiles {
        self.0.borrow().clone()
    }

    /// Whether `snapshot` still says what is visible: no project was set since it was taken.
    pub fn is_current(&self, snapshot: &VisibleFiles) -> bool {
        match (&self.0.borrow().0, &snapshot.0) {
            (Some(now), Some(then)) => Arc::ptr_eq(now, then),
            (None, None) => true,
            _ => false,
        }
    }

    /// The error for reading the hidden `path`, saying why it is not there: a file git does
    /// not track, or one that does not exist at all (then as any missing file).
    pub fn hidden_error(path: &Path) -> std::io::Error {
        if std::fs::symlink_metadata(path).is_err() {
            return std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        }
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "not part of the project: git does not track it (untracked and ignored files are left out)",
        )
    }
}

/// `path.strip_prefix(root)`, by bytes when `root` is a plain absolute path and `path` is
/// `root` or `root`, `/` and a plain relative path (plain: no empty or `.` part, which
/// components would drop): the component-wise comparison costs more than the rest of the
/// check, asked for every entry of every path literal.
fn below<'a>(path: &'a Path, root: &Path) -> Option<&'a Path> {
    let plain = |rel: &[u8]| {
        rel.split(|b| *b == b'/')
            .all(|part| !part.is_empty() && part != b".")
    };
    let bytes = path.as_os_str().as_bytes();
    let root_bytes = root.as_os_str().as_bytes();
    let root_is_plain = root_bytes.strip_prefix(b"/").is_some_and(plain);
    if let Some(rest) = bytes.strip_prefix(root_bytes).filter(|_| root_is_plain) {
        if rest.is_empty() {
            return Some(Path::new(""));
        }
        if let Some(rest) = rest.strip_prefix(b"/").filter(|rest| plain(rest)) {
            return Some(Path::new(OsStr::from_bytes(rest)));
        }
    }
    path.strip_prefix(root).ok()
}

impl VisibleFiles {
    /// The project's root, if a project is set.
    pub fn root(&self) -> Option<&Path> {
        self.0.as_deref().map(|visible| visible.root.as_path())
    }

    /// Whether a project is set and `path` is in it (the project's root included).
    pub fn is_inside(&self, path: &Path) -> bool {
        self.0
            .as_deref()
            .is_some_and(|visible| below(path, &visible.root).is_some())
    }

    /// [`ProjectFiles::hides`], as it answered when this was taken.
    pub fn hides(&self, path: &Path) -> bool {
        let Some(visible) = self.0.as_deref() else {
            return false;
        };
        let Some(rel) = below(path, &visible.root) else {
            return false;
        };
        visible.hides(rel, 0)
    }
}

impl Visible {
    fn hides(&self, rel: &Path, symlinks: u32) -> bool {
        if rel.as_os_str().is_empty() {
            return false;
        }
        // Most paths hold no `.git` at all: a byte search spares splitting them into
        // components (thousands of entries of path literals are asked per evaluation).
        let bytes = rel.as_os_str().as_encoded_bytes();
        if bytes.windows(4).any(|w| w == b".git")
            && rel
                .components()
                .any(|c| c == Component::Normal(".git".as_ref()))
        {
            return true;
        }
        let Some(listing) = &self.listed else {
            return false;
        };
        if listing.files.contains(rel) || listing.dirs.contains(rel) {
            return false;
        }
        // Below a tracked symlink, what it points at decides, as in a copy of the project; a
        // target outside the project is the host's, as the copy's symlink would reach it.
        for above in rel.ancestors().skip(1) {
            if !listing.files.contains(above) {
                continue;
            }
            let link = self.root.join(above);
            let (Ok(target), Ok(rest), Some(parent)) = (
                std::fs::read_link(&link),
                rel.strip_prefix(above),
                link.parent(),
            ) else {
                return true;
            };
            if symlinks >= MAX_SYMLINKS {
                return true;
            }
            let resolved = PathBuf::from(makes_syntax::canonical_path(
                &parent.join(target).join(rest).to_string_lossy(),
            ));
            return match resolved.strip_prefix(&self.root) {
                Ok(inside) => self.hides(inside, symlinks + 1),
                Err(_) => false,
            };
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_strip_prefix() {
        let roots = ["/p", "/p/", "/p/.", "/p//q", "/p/q", ".", "", "/", "p"];
        let paths = [
            "/p", "/p/", "/p/a", "/p/a/b", "/p//a", "/p/./a", "/p/a/", "/p/a/.", "/p/a//b", "/pa",
            "/p/q", "/p/q/a", "/p//q/a", "./a", "a", "/", "/a", "p/a", "/p/q/./a",
        ];
        for root in roots {
            for path in paths {
                let (root, path) = (Path::new(root), Path::new(path));
                assert_eq!(
                    below(path, root).map(|p| p.as_os_str()),
                    path.strip_prefix(root).ok().map(|p| p.as_os_str()),
                    "{path:?} below {root:?}"
                );
            }
        }
    }

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
    fn below_a_tracked_symlink_its_target_decides() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let root = tmp.path().join("p");
        std::fs::create_dir_all(root.join("src")).expect("mkdir");
        std::os::unix::fs::symlink("src", root.join("link")).expect("symlink");
        std::os::unix::fs::symlink("/usr", root.join("host")).expect("symlink");
        std::os::unix::fs::symlink("loop", root.join("loop")).expect("symlink");
        let files = ProjectFiles::default();
        let listed = ["src/a", "link", "host", "loop"];
        files.set(&root, Some(listed.iter().map(PathBuf::from).collect()));
        assert!(!files.hides(&root.join("link/a")));
        assert!(files.hides(&root.join("link/untracked")));
        assert!(!files.hides(&root.join("host/bin")));
        assert!(files.hides(&root.join("loop/x")));
        assert!(
            files.hides(&root.join("src/a/b")),
            "a regular file has no children"
        );
    }

    #[test]
    fn a_snapshot_answers_as_the_files_it_was_taken_from() {
        let files = ProjectFiles::default();
        files.set(Path::new("/p"), Some(vec![PathBuf::from("a/x")]));
        let snapshot = files.snapshot();
        let on_another_thread = std::thread::spawn(move || {
            ["/p/a", "/p/a/x", "/p/b", "/p/.git", "/q"].map(|p| snapshot.hides(Path::new(p)))
        })
        .join()
        .expect("the thread ends");
        assert_eq!(
            on_another_thread,
            ["/p/a", "/p/a/x", "/p/b", "/p/.git", "/q"].map(|p| files.hides(Path::new(p)))
        );
        assert_eq!(on_another_thread, [false, false, true, true, false]);
        let snapshot = files.snapshot();
        assert!(snapshot.is_inside(Path::new("/p/b")) && !snapshot.is_inside(Path::new("/q")));
        assert!(!VisibleFiles::default().is_inside(Path::new("/p/b")));
        assert_eq!(snapshot.root(), Some(Path::new("/p")));
        assert!(files.is_current(&files.snapshot()));
        let taken = files.snapshot();
        files.set(Path::new("/p"), None);
        assert!(!files.is_current(&taken), "another project was set since");
    }

    #[test]
    fn outside_git_only_dot_git_is_hidden() {
        let files = ProjectFiles::default();
        files.set(Path::new("/p"), None);
        assert!(!files.hides(Path::new("/p/anything/at/all")));
        assert!(files.hides(Path::new("/p/.git")));
        assert!(files.hides(Path::new("/p/sub/.git/HEAD")));
        assert!(!files.hides(Path::new("/p/.gitignore")));
        assert!(!files.hides(Path::new("/p/repo.git/HEAD")));
    }
}
