//! `makes [SOURCE] JOB [ARGS...]`: evaluate the job, build it and what it needs, keep an
//! out-link; then, as makes does, run the result's action (a makeScript's script) with ARGS
//! and exit with its code, or print the result's path (and nothing else) on stdout. With
//! `--output oci-dir:PATH` an image is also written as a plain OCI layout directory. A
//! `deployContainer` job also pushes the image and prints `REF@DIGEST` instead.

use crate::action::{action_of, run_action};
use crate::cli::{Output, TrailingOptions};
use crate::locations;
use crate::realisation::run_job;
use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use clap::Parser;
use makes_oci::write_oci_dir;
use makes_spec::Project;
use std::ffi::OsString;
use std::path::Path;

/// What to build and what to do with it.
pub struct BuildRequest<'a> {
    pub job: &'a str,
    /// The words after the job: its action's arguments.
    pub args: &'a [OsString],
    pub outputs: &'a [Output],
    /// Whether to run the result's action (not with `--no-run`).
    pub run: bool,
}

pub fn build(
    project: Option<&Path>,
    request: &BuildRequest,
    settings: &Settings,
) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    let project = session.load_project(project)?;
    build_in(&session, &project, request)
}

/// [`build`] in an open session.
pub fn build_in(
    session: &Session,
    project: &Project,
    request: &BuildRequest,
) -> Result<(), Failure> {
    let result = run_job(session, project, request.job)?;
    let real = result.path;
    let link = locations::out_link(request.job).map_err(Failure::message)?;
    locations::update_out_link(&link, &real).map_err(|e| {
        Failure::message(format!(
            "cannot update the out-link {}: {e}",
            link.display()
        ))
    })?;
    let has_action = result.pushed.is_none() && action_of(&real).is_some();
    let mut outputs = request.outputs.to_vec();
    if !has_action && !request.args.is_empty() {
        // Without an action, the words after the job can only be makes' own options
        // (`makes /image --output oci-dir:out`).
        let trailing = TrailingOptions::try_parse_from(request.args).map_err(|e| {
            let _ = e.print();
            Failure::silent(u8::try_from(e.exit_code()).unwrap_or(2))
        })?;
        outputs.extend(trailing.output);
    }
    for output in &outputs {
        match output {
            Output::OciDir(dir) => {
                write_oci_dir(&real, dir).map_err(|e| Failure::report(miette::Report::new(e)))?
            }
        }
    }
    if has_action && request.run {
        return run_action(session, &real, request.args);
    }
    // A deploy job's result is what it pushed.
    match result.pushed {
        Some(pushed) => println!("{pushed}"),
        None => println!("{}", real.display()),
    }
    Ok(())
}
