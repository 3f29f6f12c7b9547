//! Reading a makes project as the original makes did (shared/spec/REFERENCE.md section 1):
//! `makes.nix` as a module (a set, or a function of the makes arguments), `imports` merged
//! recursively, `jobs` with `/`-names, and lazy `inputs`/`outputs` fixpoints.

mod arguments;
mod legacy;
mod yaml;

use crate::error::SpecError;
use arguments::makes_arguments;
use makes_eval::{Attrs, EvalError, EvalErrorKind, Evaluator, Thunk, Value};
use makes_syntax::Span;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The arguments every makes module receives.
pub const MAKES_ARGUMENTS: &[&str] = &[
    "__nixpkgs__",
    "attrsOptional",
    "config",
    "deployContainer",
    "fetchArchive",
    "fetchNixpkgs",
    "fetchUrl",
    "fromYaml",
    "inputs",
    "lib",
    "makeContainerImage",
    "makeDerivation",
    "makeScript",
    "makeSearchPaths",
    "makeTemplate",
    "outputs",
    "projectIdentifier",
    "projectPath",
    "projectSrc",
    "toBashArray",
    "toDerivationName",
    "toFileJson",
    "toFileYaml",
];

/// Top-level attributes makes implements here.
const HANDLED_TOP_LEVEL: &[&str] = &[
    "deployContainer",
    "extendingMakesDirs",
    "imports",
    "inputs",
    "jobs",
    "outputs",
    "projectIdentifier",
];

/// makes' other modules: known names whose jobs `makes` does not build yet.
const OTHER_TOP_LEVEL: &[&str] = &[
    "cache",
    "calculateScorecard",
    "deployContainerManifest",
    "deployNomad",
    "deployTerraform",
    "dev",
    "envVars",
    "envVarsForTerraform",
    "formatBash",
    "formatJavaScript",
    "formatMarkdown",
    "formatNix",
    "formatPython",
    "formatTerraform",
    "formatYaml",
    "githubWorkflows",
    "helloWorld",
    "lintBash",
    "lintClojure",
    "lintGitCommitMsg",
    "lintGitMailMap",
    "lintMarkdown",
    "lintNix",
    "lintPython",
    "lintTerraform",
    "lintWithAjv",
    "lintWithLizard",
    "pipelines",
    "secretsForAwsFromEnv",
    "secretsForAwsFromGitlab",
    "secretsForEnvFromSops",
    "secretsForGpgFromEnv",
    "secretsForKubernetesConfigFromAws",
    "secretsForTerraformFromEnv",
    "securePythonWithBandit",
    "testLicense",
    "testPullRequest",
    "testPython",
    "testTerraform",
    "workspaceForTerraformFromEnv",
];

/// One job of the project: its lazy value and where it is defined.
#[derive(Clone)]
pub struct Job {
    pub value: Thunk,
    pub span: Option<Span>,
    /// What kind of job it is: a package to build, or makes' `deployContainer` (whose value
    /// is its configuration set).
    pub kind: JobKind,
}

/// The kinds of jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    Build,
    /// `deployContainer.<name>`: build `src`, push it to `image`.
    DeployContainer,
}

/// An evaluated project: its jobs by name (sorted), values still lazy.
pub struct Project {
    pub dir: PathBuf,
    pub jobs: BTreeMap<String, Job>,
    /// Known makes modules the project configures that `makes` ignores for now.
    pub ignored_modules: Vec<String>,
}

/// The nearest directory from `start` upward that holds `makes.nix`.
pub fn find_project_dir(start: &Path) -> Result<PathBuf, SpecError> {
    let mut dir = Some(start);
    while let Some(d) = dir {
        if d.join("makes.nix").is_file() {
            return Ok(d.to_path_buf());
        }
        dir = d.parent();
    }
    Err(SpecError::NoProject {
        dir: start.display().to_string(),
    })
}

/// Evaluates `dir/makes.nix` and its imports. `native` are the makes arguments implemented
/// outside this crate (`makeDerivation`, `makeContainerImage`, ...).
pub fn load_project(
    ev: &Evaluator,
    dir: &Path,
    native: Vec<(&str, Thunk)>,
) -> Result<Project, SpecError> {
    let modules: Rc<RefCell<Vec<Rc<Attrs>>>> = Rc::default();
    // Legacy jobs are imported with the very arguments being built here.
    let args_cell: Rc<RefCell<Option<Rc<Attrs>>>> = Rc::default();
    // `outputs` and `inputs` are the merged results of all modules (and, for `outputs`, the
    // legacy `main.nix` jobs), computed on demand, so a module may read them lazily.
    let merged_jobs = {
        let (modules, args_cell, dir) = (modules.clone(), args_cell.clone(), dir.to_path_buf());
        Thunk::deferred(move |ev| {
            let mut jobs = merged_attr(ev, &modules.borrow(), "jobs")?;
            let dirs = legacy::extending_dirs(ev, &modules.borrow())?;
            let args = args_cell.borrow().clone().unwrap_or_default();
            for (name, path) in legacy::discover(ev, &dir, &dirs) {
                if jobs.contains(&name) {
                    return Err(EvalError::new(
                        EvalErrorKind::DuplicateAttribute(format!(
                            "jobs.\"{name}\" (also {})",
                            path.display()
                        )),
                        jobs.get(&name).and_then(|a| a.span),
                    ));
                }
                jobs.insert(name, legacy::job_thunk(path, args.clone()), None);
            }
            Ok(Value::Attrs(Rc::new(jobs)))
        })
    };
    // A project that never defines `inputs.nixpkgs` gets the default package set
    // (`__nixpkgs__`, makes' own), as makes gives it.
    let default_nixpkgs = native
        .iter()
        .find(|(n, _)| *n == "__nixpkgs__")
        .map(|(_, v)| v.clone());
    // `inputs.nixpkgs = ./path` names a nixpkgs checkout.
    let package_set_at = native
        .iter()
        .find(|(n, _)| *n == "__packageSetAt")
        .map(|(_, v)| v.clone());
    let merged_inputs = {
        let modules = modules.clone();
        Thunk::deferred(move |ev| {
            let mut inputs = merged_attr(ev, &modules.borrow(), "inputs")?;
            if let (false, Some(default)) = (inputs.contains("nixpkgs"), &default_nixpkgs) {
                inputs.insert("nixpkgs", default.clone(), None);
            }
            if let (Some(given), Some(at)) = (inputs.get("nixpkgs").cloned(), &package_set_at) {
                let at = at.clone();
                let value = given.value.clone();
                let resolved = Thunk::deferred(move |ev| match value.force(ev)? {
                    path @ Value::Path(_) => {
                        let span = given.span.unwrap_or(makes_syntax::Span {
                            file: makes_syntax::FileId(u32::MAX),
                            start: 0,
                            end: 0,
                        });
                        ev.apply(&at.force(ev)?, Thunk::value(path), span)
                    }
                    other => Ok(other),
                });
                inputs.insert("nixpkgs", resolved, given.span);
            }
            Ok(Value::Attrs(Rc::new(inputs)))
        })
    };
    let args = makes_arguments(dir, native, merged_inputs, merged_jobs.clone());
    *args_cell.borrow_mut() = Some(args.clone());

    let mut pending = vec![dir.join("makes.nix")];
    let mut seen = Vec::new();
    while let Some(path) = pending.pop() {
        if seen.contains(&path) {
            continue;
        }
        seen.push(path.clone());
        let module = evaluate_module(ev, &path, &args)?;
        if let Some(imports) = module.get("imports") {
            let list = match imports.value.force(ev)? {
                Value::List(l) => l,
                other => {
                    return Err(SpecError::WrongType {
                        attr: "imports".into(),
                        expected: "a list of paths",
                        found: other.describe().into(),
                        span: imports.span,
                    })
                }
            };
            for item in list.iter().rev() {
                let v = item.force(ev)?;
                let p = ev.coerce_to_path(&v, imports.span.unwrap_or_else(no_span))?;
                pending.push(PathBuf::from(&*p));
            }
        }
        modules.borrow_mut().push(module);
    }

    let mut ignored = Vec::new();
    for module in modules.borrow().iter() {
        for (name, attr) in module.iter() {
            if HANDLED_TOP_LEVEL.contains(&&**name) {
                continue;
            }
            if OTHER_TOP_LEVEL.contains(&&**name) {
                ignored.push(name.to_string());
                continue;
            }
            let mut known: Vec<&str> = HANDLED_TOP_LEVEL
                .iter()
                .chain(OTHER_TOP_LEVEL)
                .copied()
                .collect();
            known.sort_unstable();
            return Err(SpecError::UnknownTopLevel {
                name: name.to_string(),
                known: known.join(", "),
                span: attr.span,
            });
        }
    }
    ignored.sort();
    ignored.dedup();

    let jobs_value = merged_jobs.force(ev)?;
    let Value::Attrs(jobs_attrs) = jobs_value else {
        return Err(SpecError::Invalid {
            attr: "jobs".into(),
            message: "must be a set of packages".into(),
            span: None,
        });
    };
    let mut jobs = BTreeMap::new();
    for (name, attr) in jobs_attrs.iter() {
        if !name.starts_with('/') {
            return Err(SpecError::JobNameWithoutSlash {
                name: name.to_string(),
                span: attr.span,
            });
        }
        jobs.insert(
            name.to_string(),
            Job {
                value: attr.value.clone(),
                span: attr.span,
                kind: JobKind::Build,
            },
        );
    }
    // makes' `deployContainer.<name>` modules are the jobs `/deployContainer/<name>`.
    let deploys = merged_attr(ev, &modules.borrow(), "deployContainer")?;
    for (name, attr) in deploys.iter() {
        let job = format!("/deployContainer/{name}");
        if jobs.contains_key(&job) {
            return Err(SpecError::Invalid {
                attr: format!("deployContainer.{name}"),
                message: format!("the job {job} is also defined in jobs"),
                span: attr.span,
            });
        }
        jobs.insert(
            job,
            Job {
                value: attr.value.clone(),
                span: attr.span,
                kind: JobKind::DeployContainer,
            },
        );
    }
    Ok(Project {
        dir: dir.to_path_buf(),
        jobs,
        ignored_modules: ignored,
    })
}

/// A module file's attribute set: applied to the makes arguments when it is a function (only
/// the arguments its formals name, as the module system does).
fn evaluate_module(ev: &Evaluator, path: &Path, args: &Rc<Attrs>) -> Result<Rc<Attrs>, SpecError> {
    let value = evaluate_file_with_args(ev, path, args)?;
    match value {
        Value::Attrs(a) => Ok(a),
        other => Err(SpecError::WrongType {
            attr: path.display().to_string(),
            expected: "a set or a function returning a set",
            found: other.describe().into(),
            span: None,
        }),
    }
}

/// A Nix file's value, applied to the makes arguments when it is a function.
fn evaluate_file_with_args(
    ev: &Evaluator,
    path: &Path,
    args: &Rc<Attrs>,
) -> makes_eval::Result<Value> {
    let value = ev.eval_file(path)?;
    let value = match &value {
        Value::Lambda(closure) => {
            let arg = match &closure.def.param {
                makes_syntax::ir::Param::Pattern {
                    formals,
                    ellipsis: false,
                    ..
                } => {
                    let mut picked = Attrs::new();
                    for formal in formals {
                        if let Some(a) = args.get(&formal.name) {
                            picked.insert(formal.name.clone(), a.value.clone(), a.span);
                        }
                    }
                    Value::Attrs(Rc::new(picked))
                }
                _ => Value::Attrs(args.clone()),
            };
            ev.apply(&value, Thunk::value(arg), closure.def.span)?
        }
        _ => value,
    };
    Ok(value)
}

/// The union of one top-level attribute over all modules (`jobs` or `inputs`).
fn merged_attr(ev: &Evaluator, modules: &[Rc<Attrs>], name: &str) -> makes_eval::Result<Attrs> {
    let mut merged = Attrs::new();
    for module in modules {
        let Some(attr) = module.get(name) else {
            continue;
        };
        match attr.value.force(ev)? {
            Value::Attrs(a) => {
                for (k, v) in a.iter() {
                    if let Some(existing) = merged.get(k) {
                        return Err(EvalError::new(
                            EvalErrorKind::DuplicateAttribute(format!("{name}.{k}")),
                            v.span.or(existing.span),
                        ));
                    }
                    merged.insert(k.clone(), v.value.clone(), v.span);
                }
            }
            other => return Err(EvalError::type_error("a set", &other, attr.span)),
        }
    }
    Ok(merged)
}

fn no_span() -> Span {
    Span {
        file: makes_syntax::FileId(u32::MAX),
        start: 0,
        end: 0,
    }
}
