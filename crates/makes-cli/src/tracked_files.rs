//! The files that make up a project, as makes copies them before evaluating: in a git
//! checkout, the files of `HEAD` with the staged and modified tracked files as they are in
//! the working tree (a tracked file deleted there is gone; untracked and ignored files are
//! never part of the project); outside git, everything but `.git`.
//!
//! makes gets this with `git worktree add HEAD` and then copies over the paths of
//! `git diff --cached --name-only` and `git ls-files --modified`. The same set is the union of
//! the paths of `HEAD` (`git ls-tree`) and of the index (`git ls-files --cached`), read from
//! the working tree. The git binary is used, as makes uses it: it is on every machine that
//! has a checkout, and it reads every index and repository format git itself writes.

use crate::report::Failure;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The project's files relative to `dir`, or `None` when `dir` is not in a git checkout.
///
/// One git process in the common case (`ls-files --with-tree=HEAD` lists the index with the
/// paths of `HEAD` laid over it): git's start-up is most of a `makes --list`.
pub fn project_files(dir: &Path) -> Result<Option<Vec<PathBuf>>, Failure> {
    // Inside a repository's own directory git still lists the work tree's files; whether
    // that is a checkout is asked as makes asks it.
    if dir.components().any(|c| c.as_os_str() == ".git") {
        return project_files_asking_first(dir);
    }
    // Starting git costs more than the rest of a small build's start-up; where git could
    // find no repository, it is not asked.
    let git_env = ["GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR"]
        .iter()
        .any(|k| std::env::var_os(k).is_some());
    if !may_be_in_checkout(
        dir,
        git_env,
        |p| !matches!(p.symlink_metadata(), Err(e) if e.kind() == std::io::ErrorKind::NotFound),
    ) {
        return Ok(None);
    }
    let listed = git(dir)
        .args(["ls-files", "-z", "--cached", "--with-tree=HEAD"])
        // Its messages are read below.
        .env("LC_ALL", "C")
        .output();
    let out = match listed {
        Ok(out) => out,
        // No git at all: a checkout cannot be listed, and is read as a plain directory.
        Err(_) => return Ok(None),
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut files = if out.status.success() {
        nul_separated(&out.stdout)
    } else if stderr.contains("not a git repository")
        || stderr.contains("must be run in a work tree")
    {
        return Ok(None);
    } else if stderr.contains("tree-ish HEAD not found") {
        // No commit yet: the index alone.
        git_paths(dir, &["ls-files", "-z", "--cached"]).map_err(|e| unreadable(dir, &e))?
    } else {
        // A checkout git cannot read (a broken one): the files it tracks are unknown,
        // and guessing would build from other files.
        return Err(unreadable(dir, stderr.trim_end()));
    };
    files.sort();
    files.dedup();
    Ok(Some(files))
}

/// Whether git could find a repository for `dir`: `false` only when `git_env` is not set
/// (variables that name a repository anywhere) and neither `dir` nor any directory above it
/// holds a `.git` (a repository or a file pointing to one) or a `HEAD` (a bare repository,
/// which a configured work tree can make list files). `present` says whether a path exists;
/// it is asked about nothing else, and anything it cannot tell counts as present.
fn may_be_in_checkout(dir: &Path, git_env: bool, present: impl Fn(&Path) -> bool) -> bool {
    // A relative directory's parents are the current directory's, which git also searches.
    if git_env || !dir.is_absolute() {
        return true;
    }
    dir.ancestors()
        .any(|d| present(&d.join(".git")) || present(&d.join("HEAD")))
}

fn unreadable(dir: &Path, stderr: &str) -> Failure {
    Failure::message(format!(
        "git cannot list the files of the project {}:\n{stderr}",
        dir.display()
    ))
}

/// [`project_files`] for a directory inside a `.git` directory: git is asked first whether
/// it is in a work tree at all.
fn project_files_asking_first(dir: &Path) -> Result<Option<Vec<PathBuf>>, Failure> {
    let inside = git(dir)
        .args(["rev-parse", "--is-inside-work-tree"])
        // Its messages are read below.
        .env("LC_ALL", "C")
        .output();
    match inside {
        Ok(out) if out.status.success() && out.stdout.starts_with(b"true") => {}
        Ok(out) if out.status.success() => return Ok(None),
        Err(_) => return Ok(None),
        Ok(out) => {
            let stderr = String::from_utf8_lossy(&out.stderr);
            if stderr.contains("not a git repository") {
                return Ok(None);
            }
            return Err(unreadable(dir, stderr.trim_end()));
        }
    }
    let mut files =
        git_paths(dir, &["ls-files", "-z", "--cached"]).map_err(|e| unreadable(dir, &e))?;
    // No commit yet: the index alone.
    if let Ok(head) = git_paths(dir, &["ls-tree", "-r", "-z", "--name-only", "HEAD"]) {
        files.extend(head);
    }
    files.sort();
    files.dedup();
    Ok(Some(files))
}

/// `git -C dir` for reading the file lists of a checkout whoever owns it (a checkout mounted
/// into a container, a root-owned checkout built by another user): git refuses other users'
/// repositories because their configuration could make it run programs, and these commands
/// run none once the file-system monitor, the one hook listing files may start, is off.
fn git(dir: &Path) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C")
        .arg(dir)
        .args(["-c", "safe.directory=*", "-c", "core.fsmonitor=false"]);
    cmd
}

/// The NUL-separated paths git prints (relative to `dir`), or what git said when it failed.
fn git_paths(dir: &Path, args: &[&str]) -> Result<Vec<PathBuf>, String> {
    let out = git(dir).args(args).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim_end().to_owned());
    }
    Ok(nul_separated(&out.stdout))
}

fn nul_separated(bytes: &[u8]) -> Vec<PathBuf> {
    bytes
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(OsStr::from_bytes(p)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn a_checkout_is_head_and_the_index_without_untracked_files() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        git(dir, &["init", "-q"]);
        std::fs::create_dir(dir.join("sub")).expect("mkdir");
        for f in ["makes.nix", "sub/a", "gone", "unstaged"] {
            std::fs::write(dir.join(f), f).expect("write");
        }
        git(dir, &["add", "makes.nix", "sub/a", "gone", "unstaged"]);
        git(dir, &["commit", "-qm", "one"]);
        std::fs::write(dir.join("staged"), "new").expect("write");
        git(dir, &["add", "staged"]);
        // Removed from the index but still in the working tree: makes copies it.
        git(dir, &["rm", "-q", "--cached", "unstaged"]);
        std::fs::write(dir.join("untracked"), "x").expect("write");
        // Deleted in the working tree: listed, but evaluation finds nothing there.
        std::fs::remove_file(dir.join("gone")).expect("rm");
        let files = project_files(dir).expect("lists").expect("a checkout");
        let names: Vec<&str> = files.iter().filter_map(|p| p.to_str()).collect();
        assert_eq!(names, ["gone", "makes.nix", "staged", "sub/a", "unstaged"]);
        let sub = project_files(&dir.join("sub"))
            .expect("lists")
            .expect("a checkout");
        assert_eq!(sub, [PathBuf::from("a")]);
    }

    #[test]
    fn a_checkout_without_commits_is_its_index() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        git(dir, &["init", "-q"]);
        for f in ["makes.nix", "untracked"] {
            std::fs::write(dir.join(f), f).expect("write");
        }
        git(dir, &["add", "makes.nix"]);
        let files = project_files(dir).expect("lists").expect("a checkout");
        assert_eq!(files, [PathBuf::from("makes.nix")]);
        // The repository's own directory is no checkout.
        assert_eq!(project_files(&dir.join(".git")).expect("runs"), None);
    }

    #[test]
    fn git_is_asked_only_where_it_could_find_a_repository() {
        let at = |found: &'static [&'static str]| {
            move |p: &Path| found.iter().any(|f| p == Path::new(f))
        };
        let dir = Path::new("/home/u/proj/sub");
        assert!(!may_be_in_checkout(dir, false, at(&[])));
        assert!(!may_be_in_checkout(
            dir,
            false,
            at(&["/home/u/proj/sub/x/.git"])
        ));
        assert!(may_be_in_checkout(
            dir,
            false,
            at(&["/home/u/proj/sub/.git"])
        ));
        assert!(may_be_in_checkout(dir, false, at(&["/home/u/proj/.git"])));
        assert!(may_be_in_checkout(dir, false, at(&["/.git"])));
        assert!(may_be_in_checkout(dir, false, at(&["/home/HEAD"])));
        assert!(may_be_in_checkout(dir, true, at(&[])));
        assert!(may_be_in_checkout(Path::new("proj"), false, at(&[])));
    }

    #[test]
    fn a_directory_below_a_checkout_is_listed_without_asking_first() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("repo");
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        git(&dir, &["init", "-q"]);
        std::fs::write(dir.join("sub/a"), "a").expect("write");
        git(&dir, &["add", "sub/a"]);
        assert_eq!(
            project_files(&dir.join("sub")).expect("runs"),
            Some(vec![PathBuf::from("a")])
        );
    }

    #[test]
    fn a_plain_directory_is_not_listed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        assert_eq!(project_files(tmp.path()).expect("runs"), None);
    }
}
