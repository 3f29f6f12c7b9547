//! `makes log JOB|PATH`: the build log of a job's output or of a store path (as
//! `/nix/store/...`, as makes' store has it on disk, or through an out-link), as the builder
//! wrote it, on stdout.

use crate::locations;
use crate::realisation::job_out_path;
use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use makes_store::{LocalStore, StorePath};
use std::io::Write;
use std::path::Path;

pub fn log(project: Option<&Path>, what: &str, settings: &Settings) -> Result<(), Failure> {
    let store_dir = locations::store_dir().map_err(Failure::message)?;
    let store = LocalStore::open(&store_dir)?;
    let path = match store_path_of(&store, what) {
        Some(path) => path,
        None if what.starts_with('/') && !what.contains("/nix/store/") => {
            let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
            let project = session.load_project(project)?;
            job_out_path(&session, &project, what)?
        }
        None => {
            return Err(Failure::message(format!(
                "'{what}' is neither a job (/name) nor a path of the store at {}",
                store.store_dir().display()
            )))
        }
    };
    let log = store.log_path(&path);
    let text = std::fs::read(&log).map_err(|e| {
        Failure::message(match e.kind() {
            std::io::ErrorKind::NotFound => format!(
                "no build log of {} (not built here, or not built by a builder: images, pulls and downloads have none)",
                path.to_absolute()
            ),
            _ => format!("cannot read {}: {e}", log.display()),
        })
    })?;
    let mut out = std::io::stdout().lock();
    // A closed pipe (`makes log /job | head`) is not an error.
    let _ = out.write_all(&text).and_then(|()| out.flush());
    Ok(())
}

/// The store path `what` names: `/nix/store/HASH-NAME[/...]`, or a file under the store's
/// directory on disk (an out-link leads there too).
fn store_path_of(store: &LocalStore, what: &str) -> Option<StorePath> {
    if let Some(rest) = what.strip_prefix("/nix/store/") {
        let base = rest.split('/').next()?;
        return StorePath::from_base_name(base).ok();
    }
    let given = Path::new(what);
    let real = given.canonicalize().ok()?;
    let dir = store.store_dir();
    let dir = dir.canonicalize().unwrap_or(dir);
    let base = real.strip_prefix(&dir).ok()?.components().next()?;
    StorePath::from_base_name(base.as_os_str().to_str()?).ok()
}
