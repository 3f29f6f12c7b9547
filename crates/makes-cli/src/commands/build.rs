//! `makes JOB`: evaluate the job, build it and what it needs, keep an out-link, print the
//! result's path (and nothing else) on stdout.

use crate::locations;
use crate::report::Failure;
use crate::session::{eval_failure, Session};
use makes_eval::{CoercionMode, EvalOptions, Value};
use makes_oci::NativeImageBuilder;
use makes_store::{realise, StorePath};
use std::io::IsTerminal;
use std::path::Path;

pub fn build(project: Option<&Path>, job: &str) -> Result<(), Failure> {
    let session = Session::open(EvalOptions::default())?;
    let project = session.load_project(project)?;
    let Some(entry) = project.jobs.get(job) else {
        eprintln!(
            "makes: no job '{job}' in {}",
            project.dir.join("makes.nix").display()
        );
        if project.jobs.is_empty() {
            eprintln!("The project defines no jobs.");
        } else {
            eprintln!("Valid jobs:");
            for name in project.jobs.keys() {
                eprintln!("  {name}");
            }
        }
        return Err(Failure::silent(1));
    };
    let ev = &session.evaluator;
    let value = entry.value.force(ev).map_err(|e| {
        eval_failure(
            ev,
            &e.note(entry.span, format!("while evaluating the job '{job}'")),
        )
    })?;
    if !matches!(&value, Value::Attrs(a) if a.contains("outPath")) {
        return Err(Failure::message(format!(
            "the job '{job}' is {}, not a package (expected e.g. makeContainerImage {{ ... }})",
            value.describe()
        )));
    }
    let out = ev
        .coerce_to_string(
            &value,
            CoercionMode::INTERPOLATION,
            entry.span.unwrap_or(makes_syntax::Span {
                file: makes_syntax::FileId(u32::MAX),
                start: 0,
                end: 0,
            }),
        )
        .map_err(|e| eval_failure(ev, &e))?;

    let show_progress = std::io::stderr().is_terminal();
    let progress = |msg: &str| {
        if show_progress {
            eprintln!("makes: {msg}");
        }
    };
    let images = NativeImageBuilder {
        store: session.store.clone(),
        now: session.now.clone(),
    };
    realise(
        &session.store,
        &session.recipes,
        &images,
        out.as_str(),
        &progress,
    )
    .map_err(|e| Failure::report(miette::Report::new(e)))?;

    let store_path =
        StorePath::parse(out.as_str()).map_err(|e| Failure::report(miette::Report::new(e)))?;
    let real = session.store.real_path(&store_path);
    let link = locations::out_link(job).map_err(Failure::message)?;
    locations::update_out_link(&link, &real).map_err(|e| {
        Failure::message(format!(
            "cannot update the out-link {}: {e}",
            link.display()
        ))
    })?;
    println!("{}", real.display());
    Ok(())
}
