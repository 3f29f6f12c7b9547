//! `makes [SOURCE]` without a job: as makes does, on a terminal the user picks the job (a
//! numbered list and a prompt on stderr; the answer is a number or a job name, optionally
//! followed by the job's arguments), and otherwise the jobs are listed on stderr with the
//! usage, and makes exits with code 1.

use crate::cli::Cli;
use crate::commands::build::{build_in, BuildRequest};
use crate::report::Failure;
use crate::session::Session;
use crate::settings::Settings;
use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

pub fn pick(project: Option<&Path>, cli: &Cli, settings: &Settings) -> Result<(), Failure> {
    let session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    let project = session.load_project(project)?;
    let jobs: Vec<&String> = project.listed_jobs().collect();
    if jobs.is_empty() {
        say!(
            "makes: {} defines no jobs",
            project.dir.join("makes.nix").display()
        );
        return Err(Failure::silent(1));
    }
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        say!(
            "Usage: makes [SOURCE] JOB [ARGS...]\n\nJobs of {}:",
            project.dir.display()
        );
        for job in &jobs {
            say!("  {job}");
        }
        return Err(Failure::silent(1));
    }
    for (number, job) in jobs.iter().enumerate() {
        say!("{:>4}  {job}", number + 1);
    }
    say_part!("Job to run (number or name, then its arguments): ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::message(format!("cannot read the answer: {e}")))?;
    let mut words = answer.split_whitespace();
    let Some(choice) = words.next() else {
        say!("makes: no job was picked");
        return Err(Failure::silent(1));
    };
    let job = match choice.parse::<usize>() {
        Ok(n) if (1..=jobs.len()).contains(&n) => jobs[n - 1].clone(),
        Ok(n) => {
            say!("makes: there is no job number {n}");
            return Err(Failure::silent(1));
        }
        Err(_) => choice.to_owned(),
    };
    let args: Vec<OsString> = words.map(OsString::from).collect();
    let request = BuildRequest {
        job: &job,
        args: &args,
        outputs: &cli.output,
        run: !cli.no_run,
        out_links: crate::out_links_of(cli),
        json: cli.json,
    };
    build_in(&session, &project, &request)
}
