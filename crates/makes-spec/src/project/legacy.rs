//! Legacy job discovery, as makes still does it for real repositories: every `main.nix` under
//! one of the `extendingMakesDirs` (default `[ "/makes" ]`) is a job named by its directory
//! with that prefix removed (`/makes/foo/bar/main.nix` -> `/foo/bar`), imported with the same
//! arguments as makes.nix, and must evaluate to a package.

use super::evaluate_file_with_args;
use makes_eval::AttrSet;
use makes_eval::{EvalError, Evaluator, FileKind, Thunk, Value};
use std::path::{Path, PathBuf};

/// The directories to search: the union of the modules' `extendingMakesDirs` (and of the
/// one string `extendingMakesDir` of releases before 22.05), or `/makes`.
pub(super) fn extending_dirs(
    ev: &Evaluator,
    modules: &[AttrSet],
) -> makes_eval::Result<Vec<String>> {
    let mut dirs = Vec::new();
    let mut given = false;
    for module in modules {
        if let Some(attr) = module.get("extendingMakesDir") {
            given = true;
            match attr.value.force(ev)? {
                Value::String(s) if s.as_bytes().starts_with(b"/") => dirs.push(s.utf8()?.to_owned()),
                _ => {
                    return Err(EvalError::other(
                        "extendingMakesDir must be a string starting with '/' (relative to the project)",
                        attr.span,
                    ))
                }
            }
        }
        let Some(attr) = module.get("extendingMakesDirs") else {
            continue;
        };
        given = true;
        let Value::List(items) = attr.value.force(ev)? else {
            return Err(EvalError::other(
                "extendingMakesDirs must be a list of strings",
                attr.span,
            ));
        };
        for item in items.iter() {
            match item.force(ev)? {
                Value::String(s) if s.as_bytes().starts_with(b"/") => dirs.push(s.utf8()?.to_owned()),
                _ => {
                    return Err(EvalError::other(
                        "each of extendingMakesDirs must be a string starting with '/' (relative to the project)",
                        attr.span,
                    ))
                }
            }
        }
    }
    if !given {
        dirs.push("/makes".to_owned());
    }
    dirs.sort();
    dirs.dedup();
    Ok(dirs)
}

/// `(job name, main.nix path)` for every `main.nix` under `project/<dir>`, sorted. The walk
/// goes through the evaluator's file access, so it sees only the project's files.
pub(super) fn discover(ev: &Evaluator, project: &Path, dirs: &[String]) -> Vec<(String, PathBuf)> {
    let mut found = Vec::new();
    for dir in dirs {
        let rel = Path::new(dir.trim_start_matches('/'));
        // Only directories of the project are searched (no `..`).
        if rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
        {
            continue;
        }
        let base = project.join(rel);
        walk(ev, &base, &base, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

fn walk(ev: &Evaluator, base: &Path, dir: &Path, found: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = ev.io.read_dir(dir) else {
        return;
    };
    for (name, kind) in entries {
        let path = dir.join(&name);
        if kind == FileKind::Directory {
            if name != ".git" {
                walk(ev, base, &path, found);
            }
        } else if name == "main.nix" {
            let rel = dir.strip_prefix(base).unwrap_or(Path::new(""));
            let name = format!("/{}", rel.to_string_lossy());
            found.push((name, path));
        }
    }
}

/// The lazy value of a legacy job.
pub(super) fn job_thunk(path: PathBuf, args: AttrSet) -> Thunk {
    Thunk::deferred(move |ev| evaluate_file_with_args(ev, &path, &args))
}
