//! Where a project comes from, as makes' SOURCE argument names it: a directory (`.`, `DIR`,
//! `local:DIR`), or a git revision (`github:OWNER/REPO@REV`, `gitlab:OWNER/REPO@REV`,
//! `local:DIR@REV`) fetched with the git binary into `$XDG_CACHE_HOME/makes/sources/`, where
//! it is reused for a day, as makes caches it. git's own configuration applies (credentials,
//! proxies, `url.<base>.insteadOf`).

use crate::env_vars::MAKES_GIT_DEPTH;
use crate::locations;
use crate::report::Failure;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// How long a fetched revision is reused, as makes does.
const CACHE_LIFETIME: Duration = Duration::from_secs(86_400);
/// makes' default `MAKES_GIT_DEPTH`.
const DEFAULT_GIT_DEPTH: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectSource {
    /// A directory: the project is the nearest makes.nix from there upward.
    Dir(PathBuf),
    Git(GitRevision),
}

/// A revision of a git repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRevision {
    /// The SOURCE as given, for messages.
    pub given: String,
    pub remote: String,
    pub rev: String,
    /// The directory name under `sources/` (makes' cache key).
    pub cache_key: String,
    /// The checkout's own directory name: the repository's, so that `./.` in its makes.nix
    /// names the same store path as in any clone of it.
    pub name: String,
}

/// Reads a SOURCE argument.
pub fn parse_source(given: &str) -> Result<ProjectSource, String> {
    let hosted = [
        ("github:", "https://github.com/", ""),
        ("gitlab:", "https://gitlab.com/", ".git"),
    ];
    for (prefix, base, suffix) in hosted {
        let Some(rest) = given.strip_prefix(prefix) else {
            continue;
        };
        let (path, rev) = rest
            .rsplit_once('@')
            .ok_or_else(|| format!("'{given}' names no revision: use {prefix}OWNER/REPO@REV"))?;
        let (owner, repo) = path
            .rsplit_once('/')
            .ok_or_else(|| format!("'{given}' is not {prefix}OWNER/REPO@REV"))?;
        check_name(given, "owner", owner, true)?;
        check_name(given, "repository", repo, false)?;
        check_rev(given, rev)?;
        return Ok(ProjectSource::Git(GitRevision {
            given: given.to_owned(),
            remote: format!("{base}{owner}/{repo}{suffix}"),
            rev: rev.to_owned(),
            cache_key: format!(
                "{}-{}-{repo}-{}",
                prefix.trim_end_matches(':'),
                owner.replace('/', "-"),
                rev.replace('/', "-")
            ),
            name: repo.to_owned(),
        }));
    }
    if let Some(rest) = given.strip_prefix("local:") {
        return match rest.rsplit_once('@') {
            Some((dir, rev)) if !dir.is_empty() => {
                check_rev(given, rev)?;
                let dir = locations::absolute(Path::new(dir));
                let name = dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "source".to_owned());
                Ok(ProjectSource::Git(GitRevision {
                    given: given.to_owned(),
                    remote: format!("file://{}", dir.display()),
                    rev: rev.to_owned(),
                    // Not cached, as makes does not cache local revisions.
                    cache_key: String::new(),
                    name,
                }))
            }
            _ if rest.is_empty() => Err("'local:' names no directory".to_owned()),
            _ => Ok(ProjectSource::Dir(PathBuf::from(rest))),
        };
    }
    Ok(ProjectSource::Dir(PathBuf::from(given)))
}

/// Owner and repository names: what the hosts allow, and nothing git could read as an option
/// or a path outside the cache.
fn check_name(given: &str, what: &str, name: &str, slashes: bool) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c) || (slashes && c == '/');
    if name.is_empty()
        || !name.chars().all(allowed)
        || name
            .split('/')
            .any(|part| part.is_empty() || part.starts_with('.') || part.starts_with('-'))
    {
        return Err(format!("'{given}': '{name}' is not a valid {what} name"));
    }
    Ok(())
}

/// A branch, tag or commit: no option-like or path-escaping revisions.
fn check_rev(given: &str, rev: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "._/-+".contains(c);
    if rev.is_empty() || rev.starts_with('-') || rev.contains("..") || !rev.chars().all(allowed) {
        return Err(format!(
            "'{given}': '{rev}' is not a revision (a branch, a tag or a commit)"
        ));
    }
    Ok(())
}

/// A project directory, and the checkout to remove when the run ends, if any.
pub struct ProjectDir {
    pub path: PathBuf,
    _checkout: Option<tempfile::TempDir>,
}

impl ProjectDir {
    fn at(path: PathBuf) -> ProjectDir {
        ProjectDir {
            path,
            _checkout: None,
        }
    }
}

/// The project directory a source names; a git revision is fetched first.
pub fn project_dir(source: &ProjectSource) -> Result<ProjectDir, Failure> {
    match source {
        ProjectSource::Dir(dir) => {
            let dir = locations::absolute(dir);
            if !dir.is_dir() {
                return Err(Failure::message(format!(
                    "'{}' is not a project: there is no such directory (a job name starts with '/')",
                    dir.display()
                )));
            }
            makes_spec::find_project_dir(&dir)
                .map(ProjectDir::at)
                .map_err(|_| {
                    Failure::message(format!(
                        "no makes.nix in {} or any directory above it",
                        dir.display()
                    ))
                })
        }
        ProjectSource::Git(rev) => fetch_revision(rev),
    }
}

/// The checkout of `rev`: from the cache when fetched less than a day ago, else fetched.
fn fetch_revision(rev: &GitRevision) -> Result<ProjectDir, Failure> {
    let sources = locations::cache_dir()
        .map_err(Failure::message)?
        .join("sources");
    std::fs::create_dir_all(&sources)
        .map_err(|e| Failure::message(format!("cannot create {}: {e}", sources.display())))?;
    let cached = (!rev.cache_key.is_empty()).then(|| sources.join(&rev.cache_key));
    if let Some(cached) = &cached {
        let fresh = std::fs::metadata(cached)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok())
            .is_some_and(|age| age <= CACHE_LIFETIME);
        if fresh && cached.join(&rev.name).is_dir() {
            say!("makes: {} from the cache {}", rev.given, cached.display());
            return Ok(ProjectDir::at(cached.join(&rev.name)));
        }
    }
    say!("makes: fetching {} of {}", rev.rev, rev.remote);
    let staging = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(&sources)
        .map_err(|e| {
            Failure::message(format!(
                "cannot create a directory in {}: {e}",
                sources.display()
            ))
        })?;
    let checkout = staging.path().join(&rev.name);
    let depth = std::env::var(MAKES_GIT_DEPTH)
        .ok()
        .and_then(|d| d.parse::<u32>().ok())
        .unwrap_or(DEFAULT_GIT_DEPTH);
    let mut fetch = vec!["fetch".to_owned(), "--quiet".to_owned()];
    if depth >= 1 {
        fetch.push(format!("--depth={depth}"));
    }
    fetch.extend([
        "--end-of-options".to_owned(),
        rev.remote.clone(),
        rev.rev.clone(),
    ]);
    let init = ["init", "--quiet", "--initial-branch=makes"];
    git(None, &init.map(String::from), Some(&checkout), rev)?;
    git(Some(&checkout), &fetch, None, rev)?;
    let checkout_args = ["checkout", "--quiet", "--detach", "FETCH_HEAD"].map(String::from);
    git(Some(&checkout), &checkout_args, None, rev)?;
    let Some(cached) = cached else {
        // Uncached: the checkout lives as long as this run.
        return Ok(ProjectDir {
            path: checkout,
            _checkout: Some(staging),
        });
    };
    // An expired or broken copy is replaced; a copy another run has just made wins.
    if cached.exists() {
        let _ = std::fs::remove_dir_all(&cached);
    }
    let staged = staging.keep();
    if std::fs::rename(&staged, &cached).is_err() {
        let _ = std::fs::remove_dir_all(&staged);
    }
    Ok(ProjectDir::at(cached.join(&rev.name)))
}

/// Runs `git [-C dir] ARGS [target]`; its output goes to stderr, its failure names the source.
fn git(
    dir: Option<&Path>,
    args: &[String],
    target: Option<&Path>,
    rev: &GitRevision,
) -> Result<(), Failure> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.arg("-C").arg(dir);
    }
    cmd.args(args);
    if let Some(target) = target {
        cmd.arg(target);
    }
    // Never wait for a password on a terminal: a private repository needs git credentials.
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    let out = cmd
        .output()
        .map_err(|e| Failure::message(format!("cannot run git to fetch {}: {e}", rev.given)))?;
    if !out.status.success() {
        return Err(Failure::message(format!(
            "cannot fetch {}: git {} failed:\n{}",
            rev.given,
            args.first().map(String::as_str).unwrap_or(""),
            String::from_utf8_lossy(&out.stderr).trim_end()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git_rev(given: &str) -> GitRevision {
        match parse_source(given) {
            Ok(ProjectSource::Git(rev)) => rev,
            other => panic!("{given}: {other:?}"),
        }
    }

    #[test]
    fn hosted_sources_name_their_remote_and_cache_key_as_makes_does() {
        let rev = git_rev("github:fluidattacks/makes@24.12");
        assert_eq!(rev.remote, "https://github.com/fluidattacks/makes");
        assert_eq!(rev.cache_key, "github-fluidattacks-makes-24.12");
        assert_eq!(rev.name, "makes");
        let rev = git_rev("gitlab:group/sub/proj@main");
        assert_eq!(rev.remote, "https://gitlab.com/group/sub/proj.git");
        assert_eq!(rev.cache_key, "gitlab-group-sub-proj-main");
    }

    #[test]
    fn local_sources_are_directories_or_revisions() {
        assert_eq!(
            parse_source("local:some/dir"),
            Ok(ProjectSource::Dir(PathBuf::from("some/dir")))
        );
        let rev = git_rev("local:/repos/proj@abc123");
        assert_eq!(rev.remote, "file:///repos/proj");
        assert_eq!(rev.name, "proj");
        assert_eq!(
            parse_source("."),
            Ok(ProjectSource::Dir(PathBuf::from(".")))
        );
    }

    #[test]
    fn hostile_names_and_revisions_are_refused() {
        for bad in [
            "github:me/proj",
            "github:me/proj@--upload-pack=x",
            "github:me/proj@a..b",
            "github:-x/proj@main",
            "github:me/../x@main",
            "github:me/pr oj@main",
            "gitlab:me@main",
            "local:",
            "local:/x@-c",
        ] {
            assert!(parse_source(bad).is_err(), "{bad}");
        }
    }
}
