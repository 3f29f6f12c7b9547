//! `makes --list`: the job names, one per line, sorted (with `--json`, one `{"job": NAME}`
//! object per line; with `--verbose`, the makes release whose rules apply, on stderr).

use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use std::io::Write;
use std::path::Path;

pub fn list(
    project: Option<&Path>,
    verbose: bool,
    json: bool,
    settings: &Settings,
) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    let project = session.load_project(project)?;
    if verbose {
        say!(
            "makes: the rules of makes {} apply: {}",
            project.release.release,
            project.release.reason
        );
    }
    let mut out = std::io::stdout().lock();
    for name in project.listed_jobs() {
        let line = if json {
            serde_json::json!({ "job": name }).to_string()
        } else {
            name.clone()
        };
        if writeln!(out, "{line}").is_err() {
            break; // A closed pipe (`makes --list | head`) is not an error.
        }
    }
    Ok(())
}
