//! Turning a job into a built store path: evaluate it, then build it and everything it needs
//! (what `makes JOB`, `makes push` and deploy jobs share).

use crate::build_progress::{BuildProgress, Display};
use crate::progress_bars::Bars;
use crate::puller::RegistryPuller;
use crate::report::Failure;
use crate::session::{eval_failure, Session};
use makes_eval::{CoercionMode, Value};
use makes_oci::{LayerProgress, NativeImageBuilder};
use makes_spec::{Job, Project};
use makes_store::{
    realise, Builders, PluginError, RealiseError, RealiseOptions, Recipe, StorePath,
};
use std::io::IsTerminal;
use std::path::PathBuf;

/// What running a job gave.
pub struct JobResult {
    /// Where the built result is on disk (a manifest list job builds nothing).
    pub path: Option<PathBuf>,
    /// For deploy jobs: `REF@DIGEST` of what was pushed.
    pub pushed: Option<String>,
}

/// Runs `job` of `project`: builds it and, for a deploy job when `push` is set, pushes (without
/// `push` a deploy job builds its image and setup scripts, as `--no-run` builds a makeScript
/// without running it). An unknown job lists the valid ones on stderr and fails with exit
/// code 1.
pub fn run_job(
    session: &Session,
    project: &Project,
    job: &str,
    push: bool,
) -> Result<JobResult, Failure> {
    match project.jobs.get(job) {
        Some(entry) if entry.kind.is_deploy() => {
            crate::deploy_job::run_deploy_job(session, entry, job, push)
        }
        _ => Ok(JobResult {
            path: Some(realise_job(session, project, job)?),
            pushed: None,
        }),
    }
}

/// Builds `job` of `project`; returns where its result is on disk. An unknown job lists the
/// valid ones on stderr and fails with exit code 1.
pub fn realise_job(session: &Session, project: &Project, job: &str) -> Result<PathBuf, Failure> {
    let out = job_out_path(session, project, job)?;
    realise_path(session, &out)
}

/// The job's entry; for an unknown job, the list of valid ones on stderr and exit code 1.
pub fn find_job<'p>(project: &'p Project, job: &str) -> Result<&'p Job, Failure> {
    if let Some(entry) = project.jobs.get(job) {
        return Ok(entry);
    }
    say!(
        "makes: no job '{job}' in {}",
        project.dir.join("makes.nix").display()
    );
    if project.listed_jobs().next().is_none() {
        say!("The project defines no jobs.");
    } else {
        say!("Valid jobs:");
        for name in project.listed_jobs() {
            say!("  {name}");
        }
    }
    Err(Failure::silent(1))
}

/// The job's value, forced.
pub fn job_value(session: &Session, entry: &Job, job: &str) -> Result<Value, Failure> {
    let ev = &session.evaluator;
    entry.value.force(ev).map_err(|e| {
        eval_failure(
            ev,
            &e.note(entry.span, format!("while evaluating the job '{job}'")),
        )
    })
}

/// The store path a build job's package names (its `outPath`), without building it.
pub fn job_out_path(session: &Session, project: &Project, job: &str) -> Result<StorePath, Failure> {
    let out = job_out_text(session, project, job)?;
    Ok(output_path(&out)?)
}

/// The job's `outPath` as the evaluation gives it, whether or not it is a store path.
pub fn job_out_text(session: &Session, project: &Project, job: &str) -> Result<String, Failure> {
    let entry = find_job(project, job)?;
    let ev = &session.evaluator;
    let value = job_value(session, entry, job)?;
    if !matches!(&value, Value::Attrs(a) if a.contains("outPath")) {
        return Err(Failure::message(format!(
            "the job '{job}' is {}, not a package (expected e.g. makeContainerImage {{ ... }})",
            value.describe()
        )));
    }
    let span = entry.span.unwrap_or(makes_syntax::Span::none());
    let out = ev
        .coerce_to_string(&value, CoercionMode::INTERPOLATION, span)
        .map_err(|e| eval_failure(ev, &e))?;
    Ok(out.utf8().map_err(|e| eval_failure(ev, &e))?.to_owned())
}

/// `fetchUrl` downloads, with makes' HTTP client (its TLS roots, proxies, retries and the
/// limits of the environment); the `file://` URLs a deferred `builtins.fetchurl` or
/// `fetchTarball` may name (makes' own fetchers take only http(s)) from the file system.
pub(crate) struct HttpFetcher;

impl HttpFetcher {
    fn client() -> Result<makes_http::HttpClient, makes_http::HttpError> {
        makes_http::HttpClient::new(crate::transfer_limits::http_options()?)
    }
}

impl makes_store::UrlFetcher for HttpFetcher {
    fn fetch(&self, url: &str, out_file: &std::path::Path) -> Result<(), PluginError> {
        if let Some(path) = url.strip_prefix("file://") {
            return std::fs::copy(path, out_file)
                .map(|_| ())
                .map_err(|e| PluginError::message(format!("{path}: {e}")));
        }
        Self::client()
            .and_then(|client| makes_http::fetch_url(&client, url, out_file))
            .map(|_| ())
            .map_err(PluginError::new)
    }

    fn fetch_archive(
        &self,
        url: &str,
        out_dir: &std::path::Path,
        strip_root: bool,
    ) -> Result<(), PluginError> {
        if let Some(path) = url.strip_prefix("file://") {
            return makes_http::unpack_archive(std::path::Path::new(path), out_dir, strip_root)
                .map_err(PluginError::new);
        }
        Self::client()
            .and_then(|client| makes_http::fetch_archive(&client, url, out_dir, strip_root))
            .map_err(PluginError::new)
    }
}

/// How progress is shown: nothing with `-q`, bars when stderr is a terminal, else lines.
fn display() -> Display {
    if crate::verbosity::quiet() {
        Display::Quiet
    } else if std::io::stderr().is_terminal() {
        Display::Bars
    } else {
        Display::Lines
    }
}

/// Builds the store path `out` and what it needs; returns where it is on disk.
pub fn realise_path(session: &Session, out: &StorePath) -> Result<PathBuf, Failure> {
    if let Some(Recipe::Image(spec)) = session.recipes.get(out) {
        for attr in &spec.no_effect {
            say!(
                "makes: warning: '{attr}' has no effect: makes runs runAsRoot in namespaces, not in a VM"
            );
        }
    }
    crate::packages_provider::provide_packages(session, &progress)?;
    build_path(session, out)
}

/// A progress line on stderr, unless `-q`.
pub(crate) fn progress(msg: &str) {
    if display() != Display::Quiet {
        say!("makes: {msg}");
    }
}

/// `out` as a store path this evaluation can build: where a job's `outPath` (or a path a
/// package set names) becomes a `StorePath`.
pub fn output_path(out: &str) -> Result<StorePath, RealiseError> {
    StorePath::parse(out).map_err(|_| RealiseError::UnknownOutput {
        path: out.to_owned(),
    })
}

/// Builds `out`, which this evaluation makes (a recipe, or an output of a
/// `builtins.derivation`), and what it needs; the packages it uses must be provided (as
/// [`crate::packages_provider::provide_packages`] does). Returns where it is on disk.
pub fn build_path(session: &Session, out_path: &StorePath) -> Result<PathBuf, Failure> {
    let display = display();
    if let Some(drv_path) = session.derivations.deriver(&out_path.to_absolute()) {
        // An output of `builtins.derivation`: built from its `.drv`.
        crate::derivation_builds::build_derivations(session, &[drv_path])?;
        return Ok(session.store.real_path(out_path));
    }
    let derivations = crate::derivation_builds::derivations_needed(session, out_path);
    crate::derivation_builds::build_derivations(session, &derivations)?;
    let images = NativeImageBuilder {
        store: session.store.clone(),
        now: session.now.clone(),
        progress: (display == Display::Bars)
            .then(|| Box::new(Bars::default()) as Box<dyn LayerProgress + Send + Sync>),
    };
    let builders = Builders {
        images: &images,
        puller: &RegistryPuller,
        fetcher: &HttpFetcher,
    };
    let observer = BuildProgress::new(
        display,
        session.settings.print_build_logs,
        crate::verbosity::verbose(),
    );
    let options = RealiseOptions {
        max_jobs: session.settings.max_jobs.unwrap_or_else(default_jobs),
        observer: &observer,
        interrupted: crate::interrupts::flag(),
    };
    let (stop_ticking, ticker_stop) = std::sync::mpsc::channel();
    let observer_ref = &observer;
    std::thread::scope(|scope| {
        scope.spawn(move || observer_ref.tick_until(ticker_stop));
        let result = realise(
            &session.store,
            &session.recipes,
            &builders,
            out_path,
            &options,
        );
        // Dropping the sender wakes the ticker at once, so the scope's join does not wait.
        drop(stop_ticking);
        result
    })
    .map_err(|e| match crate::interrupts::exit_code() {
        // The signal handler said what was stopped.
        Some(code) => Failure::silent(code),
        None => Failure::from(e),
    })?;

    Ok(session.store.real_path(out_path))
}

/// The number of cores, as Nix's `max-jobs = auto`.
fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
