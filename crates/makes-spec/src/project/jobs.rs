//! Every job of a project, named as makes names its outputs: `jobs` and top-level `outputs`
//! (each a set of `/`-named packages), the jobs of makes' modules (`/lintNix`,
//! `/envVars/<name>`, `/deployContainer/<name>`, ...) and the legacy `main.nix` jobs.

use super::modules::{module_jobs, ModuleJob, MODULES};
use super::release::Release;
use super::{legacy, merged_attr, Job, JobKind, ALL_JOBS};
use makes_eval::AttrSet;
use makes_eval::{Attrs, EvalError, EvalErrorKind, Evaluator, Thunk, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use crate::deploy::SIGN_WITH;

/// What the jobs are collected with.
pub(super) struct Context<'a> {
    /// The project's directory.
    pub dir: &'a Path,
    /// The finished arguments a module is applied to.
    pub args: &'a AttrSet,
    /// The release whose rules apply.
    pub release: Release,
    /// makes' modules written in Nix (see [`super::MODULES_ARGUMENT`]), when the caller gives
    /// them.
    pub module_outputs: Option<&'a Thunk>,
}

/// The jobs of `modules`, by name.
pub(super) fn collect(
    ev: &Evaluator,
    modules: &[AttrSet],
    cx: &Context,
) -> makes_eval::Result<BTreeMap<String, Job>> {
    let (dir, args, release) = (cx.dir, cx.args, cx.release);
    let mut jobs = BTreeMap::new();
    for option in ["jobs", "outputs"] {
        for (name, attr) in merged_attr(ev, modules, option)?.iter() {
            if !name.starts_with('/') {
                // makes' own message.
                return Err(EvalError::other(
                    format!(
                        "The job \"{name}\" must begin with a slash. Rename it to \"/{name}\"."
                    ),
                    attr.span,
                ));
            }
            add(&mut jobs, name, build(attr.value.clone(), attr.span))?;
        }
    }
    for module in MODULES {
        let config = merged_option(ev, modules, module.name)?;
        if config.is_empty() {
            continue;
        }
        // The module's jobs, made once for all of them.
        let made = cx
            .module_outputs
            .map(|outputs| jobs_of_module(outputs, module.name, AttrSet::from(config.clone())));
        for job in module_jobs(ev, module, &config, release, dir)? {
            let entry = match job.deploy.clone() {
                Some((kind, value)) => Job {
                    value: with_signer(value, args),
                    span: job.span,
                    kind,
                    as_output: made
                        .as_ref()
                        .map(|made| module_job(made, module.name, &job)),
                },
                None => {
                    let value = match &made {
                        Some(made) => module_job(made, module.name, &job),
                        None => not_built(module.name, &job.name, job.span),
                    };
                    build(value, job.span)
                }
            };
            add(&mut jobs, &job.name, entry)?;
        }
    }
    let dirs = legacy::extending_dirs(ev, modules)?;
    for (name, path) in legacy::discover(ev, dir, &dirs) {
        let span = jobs.get(&name).and_then(|j: &Job| j.span);
        if jobs.contains_key(&name) {
            return Err(EvalError::new(
                EvalErrorKind::DuplicateAttribute(format!(
                    "jobs.\"{name}\" (also {})",
                    path.display()
                )),
                span,
            ));
        }
        jobs.insert(name, build(legacy::job_thunk(path, args.clone()), None));
    }
    let all = all_jobs(&jobs, args);
    jobs.insert(ALL_JOBS.to_owned(), build(all, None));
    Ok(jobs)
}

/// A deploy job's set with `__signWith`, makes' package set's cosign (the tool makes' deploy
/// scripts sign with when `sign` is true), selected only when it is used.
fn with_signer(value: Thunk, args: &AttrSet) -> Thunk {
    let nixpkgs = args.get("__nixpkgs__").map(|a| a.value.clone());
    Thunk::deferred(move |ev| {
        let Value::Attrs(given) = value.force(ev)? else {
            return value.force(ev);
        };
        let Some(nixpkgs) = nixpkgs.clone() else {
            return Ok(Value::Attrs(given));
        };
        let cosign = Thunk::deferred(move |ev| match nixpkgs.force(ev)? {
            Value::Attrs(set) => match set.select("cosign") {
                Some(attr) => attr.value.force(ev),
                None => Err(EvalError::other(
                    "makes' package set (__nixpkgs__) has no 'cosign', which signing needs",
                    None,
                )),
            },
            other => Err(EvalError::type_error("a package set", &other, None)),
        });
        let mut with = given.to_attrs();
        with.insert(SIGN_WITH, cosign, None);
        Ok(Value::attrs(with))
    })
}

/// makes' `__all__`: `toFileJson "all"` of every other job, so building it builds them all.
fn all_jobs(jobs: &BTreeMap<String, Job>, args: &AttrSet) -> Thunk {
    let mut every = Attrs::new();
    for (name, job) in jobs {
        every.insert(name.as_str(), job.output(), job.span);
    }
    let every = Thunk::value(Value::attrs(every));
    let to_file_json = args.get("toFileJson").map(|a| a.value.clone());
    Thunk::deferred(move |ev| {
        let Some(to_file_json) = &to_file_json else {
            return Err(EvalError::new(
                EvalErrorKind::NotSupported(format!("the job {ALL_JOBS} without toFileJson")),
                None,
            ));
        };
        let at = makes_syntax::Span::none();
        let partial = ev.apply(
            &to_file_json.force(ev)?,
            Thunk::value(Value::string("all")),
            at,
        )?;
        ev.apply(&partial, every.clone(), at)
    })
}

/// The jobs makes' module `module` written in Nix makes from `config` (a set by job name),
/// or null when no module of that name is written in Nix.
fn jobs_of_module(outputs: &Thunk, module: &'static str, config: AttrSet) -> Thunk {
    let outputs = outputs.clone();
    Thunk::deferred(move |ev| {
        let Value::Attrs(modules) = outputs.force(ev)? else {
            return Ok(Value::Null);
        };
        let Some(function) = modules.get(module) else {
            return Ok(Value::Null);
        };
        let made = ev.apply(
            &function.value.force(ev)?,
            Thunk::value(Value::Attrs(config.clone())),
            makes_syntax::Span::none(),
        )?;
        match made {
            Value::Attrs(_) | Value::Null => Ok(made),
            other => Err(EvalError::type_error("a set of jobs", &other, None)),
        }
    })
}

/// The value of the job `job` of `module`: the job of that name among those `made` holds;
/// [`not_built`] when it holds none of that name.
fn module_job(made: &Thunk, module: &'static str, job: &ModuleJob) -> Thunk {
    let made = made.clone();
    let (name, span) = (job.name.clone(), job.span);
    Thunk::deferred(move |ev| match made.force(ev)? {
        Value::Attrs(jobs) => match jobs.get(&name) {
            Some(attr) => attr.value.force(ev),
            None => not_built(module, &name, span).force(ev),
        },
        _ => not_built(module, &name, span).force(ev),
    })
}

fn build(value: Thunk, span: Option<makes_syntax::Span>) -> Job {
    Job {
        value,
        span,
        kind: JobKind::Build,
        as_output: None,
    }
}

fn add(jobs: &mut BTreeMap<String, Job>, name: &str, job: Job) -> makes_eval::Result<()> {
    if let Some(existing) = jobs.get(name) {
        return Err(EvalError::new(
            EvalErrorKind::DuplicateAttribute(format!("the job \"{name}\"")),
            job.span.or(existing.span),
        ));
    }
    jobs.insert(name.to_owned(), job);
    Ok(())
}

/// The value of a job of a module makes cannot build yet: an error naming the module, raised
/// when the job is built (listing it, or referring to it through `outputs`, is fine).
fn not_built(module: &str, job: &str, span: Option<makes_syntax::Span>) -> Thunk {
    let what = format!("the job {job} of makes' '{module}' module");
    Thunk::deferred(move |_| {
        Err(EvalError::new(
            EvalErrorKind::NotSupported(what.clone()),
            span,
        ))
    })
}

/// A module option merged over the project's modules as the module system merges a set of
/// options: sets merge attribute by attribute (recursively), any other value is the last
/// module's (equal definitions in two modules are no conflict).
fn merged_option(ev: &Evaluator, modules: &[AttrSet], name: &str) -> makes_eval::Result<Attrs> {
    let mut merged = Attrs::new();
    for module in modules {
        let Some(attr) = module.get(name) else {
            continue;
        };
        match attr.value.force(ev)? {
            Value::Attrs(a) => merge_into(ev, &mut merged, &a)?,
            other => return Err(EvalError::type_error("a set", &other, attr.span)),
        }
    }
    Ok(merged)
}

fn merge_into(ev: &Evaluator, into: &mut Attrs, from: &AttrSet) -> makes_eval::Result<()> {
    for (k, v) in from.iter() {
        let merged = match into.get(k) {
            Some(existing) => match (existing.value.force(ev)?, v.value.force(ev)?) {
                (Value::Attrs(a), Value::Attrs(b)) => {
                    let mut both = Attrs::new();
                    merge_into(ev, &mut both, &a)?;
                    merge_into(ev, &mut both, &b)?;
                    Thunk::value(Value::attrs(both))
                }
                _ => v.value.clone(),
            },
            None => v.value.clone(),
        };
        into.insert(k.clone(), merged, v.span);
    }
    Ok(())
}

/// The module system's `config`: every top-level option the modules set, merged (`inputs` and
/// `outputs` as the project's own, `jobs` and `outputs` holding every job).
pub(super) fn merged_config(
    modules: std::rc::Rc<std::cell::RefCell<Vec<AttrSet>>>,
    inputs: Thunk,
    outputs: Thunk,
) -> Thunk {
    Thunk::deferred(move |ev| {
        let modules = modules.borrow();
        let mut names: Vec<Rc<str>> = modules.iter().flat_map(|m| m.names()).cloned().collect();
        names.sort();
        names.dedup();
        let mut config = Attrs::new();
        for name in names {
            let value = match &*name {
                "imports" => continue,
                "inputs" => inputs.clone(),
                "jobs" | "outputs" => outputs.clone(),
                _ => {
                    let merged = merged_value(ev, &modules, &name)?;
                    Thunk::value(merged)
                }
            };
            config.insert(name, value, None);
        }
        if !config.contains("outputs") {
            config.insert("outputs", outputs.clone(), None);
        }
        if !config.contains("inputs") {
            config.insert("inputs", inputs.clone(), None);
        }
        Ok(Value::attrs(config))
    })
}

/// One option over the modules: sets merged as `merged_option` merges them, other values the
/// last module's.
fn merged_value(ev: &Evaluator, modules: &[AttrSet], name: &str) -> makes_eval::Result<Value> {
    let mut last = None;
    for module in modules {
        if let Some(attr) = module.get(name) {
            last = Some(attr.value.force(ev)?);
        }
    }
    match last {
        Some(Value::Attrs(_)) => Ok(Value::attrs(merged_option(ev, modules, name)?)),
        Some(other) => Ok(other),
        None => Ok(Value::Null),
    }
}
