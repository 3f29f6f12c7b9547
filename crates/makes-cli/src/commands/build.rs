//! `makes JOB`: evaluate the job, build it and what it needs, keep an out-link, print the
//! result's path (and nothing else) on stdout. With `--output oci-dir:PATH` the image is also
//! written as a plain OCI layout directory. When stderr is a terminal, each layer being written
//! gets a progress bar there.

use crate::cli::Output;
use crate::locations;
use crate::report::Failure;
use crate::session::{eval_failure, Session};
use indicatif::{ProgressBar, ProgressStyle};
use makes_eval::{CoercionMode, EvalOptions, Value};
use makes_oci::{write_oci_dir, LayerProgress, NativeImageBuilder};
use makes_store::{realise, Recipe, StorePath};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Mutex;

pub fn build(project: Option<&Path>, job: &str, outputs: &[Output]) -> Result<(), Failure> {
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
    let out_path = StorePath::parse(out.as_str()).ok();
    if let Some(Recipe::Image(spec)) = out_path.as_ref().and_then(|p| session.recipes.get(p)) {
        for attr in &spec.no_effect {
            eprintln!(
                "makes: warning: '{attr}' has no effect: makes runs runAsRoot in namespaces, not in a VM"
            );
        }
    }
    let images = NativeImageBuilder {
        store: session.store.clone(),
        now: session.now.clone(),
        progress: show_progress.then(|| Box::new(Bars::default()) as Box<dyn LayerProgress>),
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
    for output in outputs {
        match output {
            Output::OciDir(dir) => {
                write_oci_dir(&real, dir).map_err(|e| Failure::report(miette::Report::new(e)))?
            }
        }
    }
    println!("{}", real.display());
    Ok(())
}

/// One indicatif bar per layer on stderr.
#[derive(Default)]
struct Bars {
    current: Mutex<Option<ProgressBar>>,
}

impl LayerProgress for Bars {
    fn start(&self, index: usize, count: usize, label: &str, total: u64) {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} {bar:30} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(format!("layer {}/{count}", index + 1));
        bar.set_message(label.to_string());
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(cur) = self.current.lock() {
            if let Some(bar) = cur.as_ref() {
                bar.inc(bytes);
            }
        }
    }

    fn finish(&self, cached: bool, size: u64) {
        if let Ok(mut cur) = self.current.lock() {
            if let Some(bar) = cur.take() {
                let how = if cached { "cached" } else { "written" };
                bar.finish_with_message(format!(
                    "{} ({how}, {})",
                    bar.message(),
                    indicatif::HumanBytes(size)
                ));
            }
        }
    }
}
