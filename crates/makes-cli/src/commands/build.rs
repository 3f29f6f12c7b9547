//! `makes JOB`: evaluate the job, build it and what it needs, keep an out-link, print the
//! result's path (and nothing else) on stdout. With `--output oci-dir:PATH` the image is also
//! written as a plain OCI layout directory. A `deployContainer` job also pushes the image and
//! prints `REF@DIGEST` instead.

use crate::cli::Output;
use crate::locations;
use crate::realisation::run_job;
use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use makes_oci::write_oci_dir;
use std::path::Path;

pub fn build(
    project: Option<&Path>,
    job: &str,
    outputs: &[Output],
    settings: &Settings,
) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    let project = session.load_project(project)?;
    let result = run_job(&session, &project, job)?;
    let real = result.path;
    let link = locations::out_link(job).map_err(Failure::message)?;
    locations::update_out_link(&link, &real).map_err(|e| {
        Failure::message(format!(
            "cannot update the out-link {}: {e}",
            link.display()
        ))
    })?;
    for output in outputs {
        match output {
            Output::OciDir(dir) => {
                write_oci_dir(&real, dir).map_err(|e| Failure::report(miette::Report::new(e)))?
            }
        }
    }
    // A deploy job's result is what it pushed.
    match result.pushed {
        Some(pushed) => println!("{pushed}"),
        None => println!("{}", real.display()),
    }
    Ok(())
}
