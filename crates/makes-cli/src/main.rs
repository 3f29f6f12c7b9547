//! The `makes` binary: parse arguments, run one command on a thread with a large stack (the
//! evaluator recurses), print the result or a miette report, exit with its code.

#[macro_use]
mod stderr_line;

mod action;
mod auth_files;
mod build_log;
mod build_progress;
mod cli;
mod clock;
mod commands;
mod deploy_job;
mod deploy_setup;
mod derivation_builds;
mod docker_daemon;
mod env_vars;
mod error_display;
mod image_outputs;
mod interrupts;
mod invocation;
mod locations;
mod memory_ceiling;
mod nix_probe;
mod out_links;
mod packages_provider;
mod progress_bars;
mod project_source;
mod publish;
mod puller;
mod realisation;
mod registry_access;
mod report;
mod result_line;
mod session;
mod settings;
mod substitution;
mod tracked_files;
mod transfer_limits;
mod verbosity;

/// mimalloc, counted for the evaluator's memory ceiling (see `memory_ceiling`).
#[global_allocator]
static GLOBAL: memory_ceiling::CountingAllocator =
    memory_ceiling::CountingAllocator(mimalloc::MiMalloc);

use clap::Parser;
use cli::{Cli, Command};
use report::Failure;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Unwrapped lines keep messages whole for logs and grep; miette still quotes the source.
    let _ = miette::set_hook(Box::new(|_| {
        Box::new(miette::MietteHandlerOpts::new().wrap_lines(false).build())
    }));
    let cli = Cli::parse();
    verbosity::set(cli.verbose, cli.quiet);
    interrupts::install();
    if let Err(message) = memory_ceiling::set_from_environment() {
        say!("makes: {message}");
        return ExitCode::from(2);
    }
    let outcome = makes_eval::run_with_stack(move || {
        run(cli).map_err(|f| (f.report.map(|r| error_display::render(&*r)), f.code))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err((report, code)) => {
            if let Some(text) = report {
                say!("{text}");
            }
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let invocation = invocation::interpret(cli.project.is_some(), &cli.target)?;
    let mut settings = settings::Settings::load(cli.packages, &cli.option)?;
    if let Some(jobs) = cli.max_jobs {
        settings.max_jobs = Some(usize::from(jobs));
    }
    settings.print_build_logs = cli.print_build_logs;
    let settings = &settings;
    if let (Some(_), Some(word)) = (&cli.command, cli.target.first()) {
        say!(
            "makes: give either a job ({}) or a command, not both; see makes --help",
            word.to_string_lossy()
        );
        return Err(Failure::silent(2));
    }
    // A fetched checkout stays until the run ends.
    let fetched = match (&cli.project, &invocation.source) {
        (None, Some(source)) => Some(project_source::project_dir(source)?),
        _ => None,
    };
    let project = cli
        .project
        .as_deref()
        .or(fetched.as_ref().map(|d| d.path.as_path()));
    match (&cli.command, invocation.job) {
        (Some(Command::Eval(args)), _) => commands::eval::eval(args, settings),
        (Some(Command::Gc(args)), _) => commands::gc::gc(args),
        (Some(Command::Push(args)), _) => commands::push::push(project, args, settings),
        (Some(Command::Lock(args)), _) => commands::lock::lock(project, &args.jobs, settings),
        (Some(Command::Show(args)), _) => commands::show::show(project, &args.job, settings),
        (Some(Command::Instantiate(args)), _) => commands::instantiate::instantiate(args, settings),
        (Some(Command::Log(args)), _) => commands::log::log(project, &args.what, settings),
        (Some(Command::Completions(args)), _) => commands::completions::completions(args.shell),
        (Some(Command::Exec(args)), _) => commands::exec::exec(&args.command),
        (None, Some(job)) => {
            let request = commands::build::BuildRequest {
                job: &job,
                args: &invocation.args,
                outputs: &cli.output,
                run: !cli.no_run,
                out_links: out_links_of(&cli),
                json: cli.json,
            };
            commands::build::build(project, &request, settings)
        }
        (None, None) if cli.list => {
            commands::list::list(project, cli.verbose > 0, cli.json, settings)
        }
        (None, None) => commands::pick::pick(project, &cli, settings),
    }
}

/// The out-links the command line asks for.
fn out_links_of(cli: &Cli) -> out_links::OutLinks {
    match (&cli.out_link, cli.no_out_link) {
        (Some(path), _) => out_links::OutLinks::At(path.clone()),
        (None, true) => out_links::OutLinks::None,
        (None, false) => out_links::OutLinks::Default,
    }
}
