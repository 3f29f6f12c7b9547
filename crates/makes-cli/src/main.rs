//! The `makes` binary: parse arguments, run one command on a thread with a large stack (the
//! evaluator recurses), print the result or a miette report, exit with its code.

mod auth_files;
mod cli;
mod clock;
mod commands;
mod env_vars;
mod locations;
mod memory_ceiling;
mod packages_provider;
mod progress_bars;
mod publish;
mod puller;
mod realisation;
mod report;
mod session;
mod settings;
mod substitution;

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
    if let Err(message) = memory_ceiling::set_from_environment() {
        eprintln!("makes: {message}");
        return ExitCode::from(2);
    }
    let outcome = makes_eval::run_with_stack(move || {
        run(cli).map_err(|f| (f.report.map(|r| format!("{r:?}")), f.code))
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err((report, code)) => {
            if let Some(text) = report {
                eprintln!("{text}");
            }
            ExitCode::from(code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let project = cli.project.as_deref();
    let settings = settings::Settings::load(cli.packages, &cli.option)?;
    let settings = &settings;
    match (&cli.command, &cli.job) {
        (Some(_), Some(job)) => {
            eprintln!("makes: give either a job ({job}) or a command, not both; see makes --help");
            Err(Failure::silent(2))
        }
        (Some(Command::Eval(args)), _) => commands::eval::eval(args),
        (Some(Command::Gc(args)), _) => commands::gc::gc(args),
        (Some(Command::Push(args)), _) => commands::push::push(project, args, settings),
        (Some(Command::Lock(args)), _) => commands::lock::lock(project, &args.jobs, settings),
        (Some(Command::Show(args)), _) => commands::show::show(project, &args.job, settings),
        (None, Some(job)) => commands::build::build(project, job, &cli.output, settings),
        (None, None) if cli.list => commands::list::list(project, settings),
        (None, None) => {
            eprintln!("makes: give a job to build (e.g. makes /hello), --list, or a command; see makes --help");
            Err(Failure::silent(2))
        }
    }
}
