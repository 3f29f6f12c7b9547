//! `makes push [--insecure] [--user-env VAR --token-env VAR] JOB REF`: build the job and push
//! its image; stdout gets `REF@sha256:...`.

use crate::cli::PushArgs;
use crate::publish::{push_archive, PushTarget};
use crate::realisation::realise_job;
use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use std::path::Path;

pub fn push(project: Option<&Path>, args: &PushArgs, settings: &Settings) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    let project = session.load_project(project)?;
    let archive = realise_job(&session, &project, &args.job)?;
    if !archive.is_file() {
        return Err(Failure::message(format!(
            "the job '{}' is not an image (its result is not an archive)",
            args.job
        )));
    }
    let target = PushTarget {
        reference: &args.reference,
        insecure: args.insecure,
        credential_vars: args.user_env.as_deref().zip(args.token_env.as_deref()),
        environment: None,
        attempts: None,
    };
    crate::result_line::print_result(push_archive(&archive, &target)?);
    Ok(())
}
