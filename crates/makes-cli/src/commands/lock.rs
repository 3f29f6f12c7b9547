//! `makes lock [JOB...]`: evaluates the jobs with Nix, builds the packages they use, and
//! writes makes.lock.json: each package reference with its outputs' store paths, and every
//! path of their closures with NAR hash, NAR size and references, what the sets' functions
//! are (lambdas or functor sets), and for a call that takes paths makes built itself the NAR
//! hashes of those paths. With it, a machine without Nix builds the same images by
//! substitution.

use crate::packages_provider::build_with_nix;
use crate::realisation::{find_job, job_out_text, job_value};
use crate::report::{report_spec, Failure};
use crate::session::Session;
use crate::settings::{PackagesBackend, Settings};
use makes_spec::reduce_deploy_job;
use makes_store::packages::{LockFile, LockUpdate, LockedPackage, PackageMode, Step, LOCK_FILE};
use std::io::IsTerminal;
use std::path::Path;

pub fn lock(project: Option<&Path>, jobs: &[String], settings: &Settings) -> Result<(), Failure> {
    if settings.packages == Some(PackagesBackend::Lock) || !crate::nix_probe::nix_installed() {
        return Err(Failure::message(
            "makes lock asks Nix for the packages: it needs Nix (nix-instantiate, nix-build) on PATH".to_owned(),
        ));
    }
    let settings = Settings {
        packages: Some(PackagesBackend::Nix),
        ..settings.clone()
    };
    let session = Session::open(crate::session::project_eval_options(), settings)?;
    let project = session.load_project(project)?;
    let names: Vec<String> = if jobs.is_empty() {
        project.listed_jobs().cloned().collect()
    } else {
        jobs.to_vec()
    };
    for job in &names {
        let entry = find_job(&project, job)?;
        if entry.kind.is_deploy() {
            let value = job_value(&session, entry, job)?;
            reduce_deploy_job(&session.evaluator, entry.kind, &value, entry.span)
                .map_err(|e| report_spec(&session.evaluator, &e))?;
        } else {
            job_out_text(&session, &project, job)?;
        }
    }
    let Some(packages) = session.packages() else {
        return Ok(());
    };
    let PackageMode::Nix(nix) = packages.mode() else {
        return Err(Failure::message(
            "internal: makes lock without Nix".to_owned(),
        ));
    };
    let used = packages.used();
    let show_progress = std::io::stderr().is_terminal();
    let progress = |msg: &str| {
        if show_progress {
            say!("makes: {msg}");
        }
    };
    let outputs = build_with_nix(&session, packages, &used, &progress)?;
    let infos = nix.closure_infos(&outputs)?;

    let mut locked_packages = Vec::with_capacity(used.len());
    for u in &used {
        let (name, output_name) = packages
            .described_package(&u.set, &u.attr_path)
            .unwrap_or_else(|| (u.name.clone(), u.output.clone()));
        locked_packages.push(LockedPackage {
            set: u.set.clone(),
            attr_path: u.attr_path.clone(),
            name,
            output_name,
            outputs: [(u.output.clone(), u.path.clone())].into(),
            inputs: handed_inputs(&session, packages, &u.attr_path)?,
        });
    }
    // Locking some jobs keeps what the lock says of the packages they do not use.
    let mut lock = match (jobs.is_empty(), packages.lock()) {
        (false, Some(old)) => old.clone(),
        _ => LockFile::new(),
    };
    lock.merge(LockUpdate {
        packages: locked_packages,
        absent: packages.absent(),
        values: packages.values(),
        functions: packages.functions(),
        paths: infos,
    })?;
    lock.write(packages.project_dir())?;
    say!(
        "makes: locked {} package(s), {} store path(s)",
        lock.packages.len(),
        lock.paths.len()
    );
    crate::result_line::print_result(packages.project_dir().join(LOCK_FILE).display());
    Ok(())
}

/// The paths makes builds that the calls of `attr_path` take, with the NAR hashes of their
/// contents (built here when Nix had the calls' results already, so that nothing needed
/// them yet).
fn handed_inputs(
    session: &Session,
    packages: &makes_store::packages::Packages,
    attr_path: &[Step],
) -> Result<std::collections::BTreeMap<makes_store::StorePath, String>, Failure> {
    packages
        .handed_in(attr_path)
        .into_iter()
        .map(|store_path| {
            if !session.store.is_valid(&store_path) {
                crate::realisation::build_path(session, &store_path)?;
            }
            let info = session.store.path_info(&store_path)?;
            Ok((store_path, info.nar_hash))
        })
        .collect()
}
