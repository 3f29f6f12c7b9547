//! `makes --list`: the job names, one per line, sorted.

use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use std::io::Write;
use std::path::Path;

pub fn list(project: Option<&Path>, settings: &Settings) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    let project = session.load_project(project)?;
    let mut out = std::io::stdout().lock();
    for name in project.jobs.keys() {
        if writeln!(out, "{name}").is_err() {
            break; // A closed pipe (`makes --list | head`) is not an error.
        }
    }
    Ok(())
}
