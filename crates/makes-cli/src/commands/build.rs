//! `makes [SOURCE] JOB [ARGS...]`: evaluate the job, build it and what it needs, keep an
//! out-link; then, as makes does, run the result's action (a makeScript's script) with ARGS
//! and exit with its code, or print the result's path (and nothing else) on stdout. With
//! `--output TRANSPORT:WHERE` an image is also written elsewhere (see `image_outputs`). A
//! `deployContainer` job also pushes the image and prints `REF@DIGEST` instead; with
//! `--no-run` it only builds the image (and its setup scripts) and prints the image's path.

use crate::action::{action_of, run_action};
use crate::cli::{Output, TrailingOptions};
use crate::image_outputs::write_outputs;
use crate::out_links::{link_result, OutLinks};
use crate::realisation::run_job;
use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use clap::Parser;
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
    pub out_links: OutLinks,
    /// Print the result as one JSON object instead of its path.
    pub json: bool,
}

pub fn build(
    project: Option<&Path>,
    request: &BuildRequest,
    settings: &Settings,
) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    // Path literals are checked against these logs as soon as the project is parsed.
    session.store.read_ahead_source_caches();
    let project = session.load_project(project)?;
    build_in(&session, &project, request)
}

/// [`build`] in an open session.
pub fn build_in(
    session: &Session,
    project: &Project,
    request: &BuildRequest,
) -> Result<(), Failure> {
    let result = run_job(session, project, request.job, request.run)?;
    let Some(real) = result.path else {
        // A manifest list job builds nothing: its result is the list it pushed (nothing with
        // `--no-run`).
        let Some(pushed) = result.pushed else {
            return Ok(());
        };
        if request.json {
            crate::result_line::print_result(serde_json::json!({
                "job": request.job,
                "pushed": pushed,
            }));
        } else {
            crate::result_line::print_result(pushed);
        }
        return Ok(());
    };
    let links = link_result(&request.out_links, &project.dir, request.job, &real)
        .map_err(Failure::message)?;
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
    if !outputs.is_empty() {
        if action_of(&real).is_some() || !real.is_file() {
            return Err(Failure::message(format!(
                "--output writes images; the job '{}' built {}, which is no image archive",
                request.job,
                real.display()
            )));
        }
        write_outputs(&real, &outputs)?;
    }
    if has_action && request.run {
        return run_action(session, &real, request.args);
    }
    if request.json {
        let store_path = real
            .file_name()
            .map(|n| format!("{}/{}", makes_store::STORE_DIR, n.to_string_lossy()));
        let object = serde_json::json!({
            "job": request.job,
            "storePath": store_path,
            "path": real,
            "outLinks": links,
            "outputs": outputs.iter().map(describe_output).collect::<Vec<_>>(),
            "pushed": result.pushed,
        });
        crate::result_line::print_result(object);
        return Ok(());
    }
    // A deploy job's result is what it pushed.
    match result.pushed {
        Some(pushed) => crate::result_line::print_result(pushed),
        None => crate::result_line::print_result(real.display()),
    }
    Ok(())
}

/// An output as given on the command line (`oci:DIR:TAG`).
fn describe_output(output: &Output) -> String {
    let with = |transport: &str, path: &Path, extra: &Option<String>| match extra {
        Some(extra) => format!("{transport}:{}:{extra}", path.display()),
        None => format!("{transport}:{}", path.display()),
    };
    match output {
        Output::OciDir(dir) => with("oci-dir", dir, &None),
        Output::Oci { dir, tag } => with("oci", dir, tag),
        Output::OciArchive { file, tag } => with("oci-archive", file, tag),
        Output::DockerArchive { file, reference } => with("docker-archive", file, reference),
        Output::DockerDaemon { reference } => format!("docker-daemon:{reference}"),
        Output::Dir(dir) => with("dir", dir, &None),
    }
}
