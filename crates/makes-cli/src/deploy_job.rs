//! Running a deploy job as makes' deploy scripts do: source the `setup` scripts, push (an
//! image with [`push_archive`], a manifest list with [`push_manifest_list`]), then, with
//! `sign = true`, sign what was pushed with cosign of makes' package set.

use crate::publish::{push_archive, push_manifest_list, PushTarget};
use crate::realisation::{job_value, realise_path, JobResult};
use crate::report::{report_spec, Failure};
use crate::session::Session;
use makes_spec::{reduce_deploy_job, DeployJob, Job};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

/// Runs the deploy job `entry` (named `job`). Without `push` (`--no-run`) it builds the image
/// and the setup scripts and pushes nothing, as `--no-run` builds a script without running it.
pub fn run_deploy_job(
    session: &Session,
    entry: &Job,
    job: &str,
    push: bool,
) -> Result<JobResult, Failure> {
    let ev = &session.evaluator;
    let value = job_value(session, entry, job)?;
    let spec =
        reduce_deploy_job(ev, entry.kind, &value, entry.span).map_err(|e| report_spec(ev, &e))?;
    let image_path = match &spec {
        DeployJob::Image(image) => Some(realise_path(session, &image.src)?),
        DeployJob::Manifest(_) => None,
    };
    let scripts = spec
        .setup()
        .iter()
        .map(|script| realise_path(session, script))
        .collect::<Result<Vec<_>, _>>()?;
    if !push {
        return Ok(JobResult {
            path: image_path,
            pushed: None,
        });
    }
    // makes sources the setup scripts first: what they export (credentials, the tag's
    // variables) is the environment of the push and of the signing.
    let environment = if scripts.is_empty() {
        None
    } else {
        Some(crate::deploy_setup::environment_after_setup(&scripts)?)
    };
    let variable = |name: &str| match &environment {
        Some(environment) => environment.get(name).cloned(),
        None => std::env::var(name).ok(),
    };
    let (pushed, signed) = match (&spec, &image_path) {
        (DeployJob::Image(image), Some(path)) => {
            // The image may name environment variables, expanded now, as makes' deploy
            // script does.
            let reference = image.image_at_run_time(variable)?;
            let target = PushTarget {
                reference: &reference,
                insecure: false,
                credential_vars: spec.credential_vars(),
                attempts: Some(image.attempts),
                environment: environment.as_ref(),
            };
            (push_archive(path, &target)?, reference)
        }
        (DeployJob::Manifest(list), _) => {
            let target = PushTarget {
                reference: &list.image,
                insecure: false,
                credential_vars: spec.credential_vars(),
                attempts: None,
                environment: environment.as_ref(),
            };
            (push_manifest_list(list, &target)?, list.image.clone())
        }
        (DeployJob::Image(_), None) => {
            return Err(Failure::message(format!(
                "internal: the image of the deploy job '{job}' was not built"
            )))
        }
    };
    if let Some(cosign) = spec.sign_with() {
        let cosign = realise_path(session, cosign)?;
        sign(
            &cosign,
            &signed,
            spec.credential_vars(),
            environment.as_ref(),
        )?;
    }
    Ok(JobResult {
        path: image_path,
        pushed: Some(pushed),
    })
}

/// `cosign sign --yes=true --registry-username=USER --registry-password=TOKEN IMAGE`, as
/// makes' deploy scripts run it, in the environment the setup left.
fn sign(
    cosign: &Path,
    image: &str,
    credential_vars: Option<(&str, &str)>,
    environment: Option<&HashMap<String, String>>,
) -> Result<(), Failure> {
    let value = |var: Option<&str>| {
        var.and_then(|var| match environment {
            Some(environment) => environment.get(var).cloned(),
            None => std::env::var(var).ok(),
        })
        .unwrap_or_default()
    };
    let user = value(credential_vars.map(|(user, _)| user));
    let token = value(credential_vars.map(|(_, token)| token));
    let program = cosign.join("bin/cosign");
    if !crate::verbosity::quiet() {
        say!("makes: signing {image} with {}", program.display());
    }
    let mut command = Command::new(&program);
    command.args([
        "sign".to_owned(),
        "--yes=true".to_owned(),
        format!("--registry-username={user}"),
        format!("--registry-password={token}"),
        image.to_owned(),
    ]);
    if let Some(environment) = environment {
        command.env_clear().envs(environment);
    }
    let status = command.status().map_err(|e| {
        Failure::message(format!(
            "cannot run {} to sign {image}: {e}",
            program.display()
        ))
    })?;
    if !status.success() {
        return Err(Failure::message(format!(
            "signing {image} failed: {} exited with {status}",
            program.display()
        )));
    }
    Ok(())
}
