//! Out-links: the symbolic links that keep results alive through `makes gc`.
//!
//! - `<cache>/out-<job>`: the name the original makes gave it (`/` -> `-`), pointing at the
//!   latest build of a job of that name, whatever the project;
//! - `<cache>/links/<project>-<hash>/out-<job>`: one per project and job, so that the same job
//!   name in two projects keeps both results (the hash is of the project's directory);
//! - `--out-link PATH`: a link wherever the user wants it, registered as an indirect root in
//!   `<cache>/links/indirect/` (a link to the link, as Nix's `gcroots/auto`): it protects its
//!   target while it exists and still points into the store.
//!
//! `--no-out-link` makes none of them.

use crate::locations::{cache_dir, update_out_link};
use makes_store::{LocalStore, StorePath};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Where the result of a build is linked from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutLinks {
    /// makes' own out-link and the project's.
    Default,
    /// A link at this path (and no other).
    At(PathBuf),
    None,
}

fn short_hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn links_dir() -> Result<PathBuf, String> {
    Ok(cache_dir()?.join("links"))
}

/// `<cache>/links/<project dir name>-<hash of its path>/out-<job>`.
pub fn project_out_link(project_dir: &Path, job: &str) -> Result<PathBuf, String> {
    use std::os::unix::ffi::OsStrExt;
    let name: String = project_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .take(40)
        .collect();
    let dir = format!("{name}-{}", short_hash(project_dir.as_os_str().as_bytes()));
    Ok(links_dir()?.join(dir).join(job_link_name(job)))
}

fn job_link_name(job: &str) -> String {
    format!("out{}", job.replace('/', "-"))
}

/// Makes the out-links of a result, as `links` says; returns the links made.
pub fn link_result(
    links: &OutLinks,
    project_dir: &Path,
    job: &str,
    result: &Path,
) -> Result<Vec<PathBuf>, String> {
    let made = match links {
        OutLinks::None => Vec::new(),
        OutLinks::Default => vec![
            cache_dir()?.join(job_link_name(job)),
            project_out_link(project_dir, job)?,
        ],
        OutLinks::At(path) => {
            let path = crate::locations::absolute(path);
            if let Ok(meta) = std::fs::symlink_metadata(&path) {
                if !meta.file_type().is_symlink() {
                    return Err(format!(
                        "--out-link {}: a file is there already (only a symbolic link is replaced)",
                        path.display()
                    ));
                }
            }
            let registration = links_dir()?.join("indirect").join(short_hash(
                std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()),
            ));
            update_out_link(&registration, &path)
                .map_err(|e| format!("cannot register {}: {e}", registration.display()))?;
            vec![path]
        }
    };
    for link in &made {
        update_out_link(link, result)
            .map_err(|e| format!("cannot update the out-link {}: {e}", link.display()))?;
    }
    Ok(made)
}

/// The store path a link points at, if it points directly into `store`.
fn target_in_store(link: &Path, store_dir: &Path) -> Option<StorePath> {
    let target = std::fs::read_link(link).ok()?;
    if target.parent() != Some(store_dir) {
        return None;
    }
    StorePath::from_base_name(&target.file_name()?.to_string_lossy()).ok()
}

/// Every store path an out-link reaches: makes' own, the projects', and the `--out-link`s
/// still in place (registrations of links that are gone or moved are removed).
pub fn roots(store: &LocalStore, dry_run: bool) -> Result<Vec<StorePath>, String> {
    let cache = cache_dir()?;
    let store_dir = store.store_dir();
    let mut roots = Vec::new();
    let mut consider = |dir: &Path| {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if entry.file_name().to_string_lossy().starts_with("out-") {
                roots.extend(target_in_store(&entry.path(), &store_dir));
            }
        }
    };
    consider(&cache);
    let links = cache.join("links");
    for entry in std::fs::read_dir(&links).into_iter().flatten().flatten() {
        if entry.file_name() != "indirect" {
            consider(&entry.path());
        }
    }
    for entry in std::fs::read_dir(links.join("indirect"))
        .into_iter()
        .flatten()
        .flatten()
    {
        let registration = entry.path();
        let root = std::fs::read_link(&registration)
            .ok()
            .and_then(|user_link| target_in_store(&user_link, &store_dir));
        match root {
            Some(root) => roots.push(root),
            None if !dry_run => {
                let _ = std::fs::remove_file(&registration);
            }
            None => {}
        }
    }
    roots.sort();
    roots.dedup();
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_links_differ_by_project_and_are_readable_names() {
        let (Ok(a), Ok(b)) = (
            project_out_link(Path::new("/work/a/app"), "/hello"),
            project_out_link(Path::new("/work/b/app"), "/hello"),
        ) else {
            // Without HOME or XDG_CACHE_HOME there is no cache directory: nothing to compare.
            return;
        };
        assert_ne!(a, b);
        assert!(a.ends_with("out-hello"));
        let dir = a
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned());
        assert!(dir.is_some_and(|d| d.starts_with("app-") && d.len() == "app-".len() + 16));
    }
}
