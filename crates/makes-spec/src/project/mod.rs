//! Reading a makes project as the original makes did (makes' `src/evaluator/`):
//! `makes.nix` as a module (a set, or a function of the makes arguments), `imports` merged
//! recursively, `jobs` with `/`-names, and lazy `inputs`/`outputs` fixpoints.

mod arguments;
mod inputs;
mod jobs;
mod legacy;
mod modules;
mod options;
mod release;

pub use release::{fitted, pinned_release, Release, ReleaseRules};

use crate::error::SpecError;
use arguments::project_arguments;
use makes_eval::AttrSet;
use makes_eval::{Attrs, EvalError, EvalErrorKind, Evaluator, Thunk, Value};
use makes_syntax::Span;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Top-level attributes the project loader itself reads; makes' modules are in `modules.rs`.
const LOADER_TOP_LEVEL: &[&str] = &[
    "extendingMakesDir",
    "extendingMakesDirs",
    "imports",
    "inputs",
    "jobs",
    "outputs",
    "projectIdentifier",
    // makes' state directories (`__stateDirs__`), read by the Nix helpers through `config`.
    "globalStateDir",
    "projectStateDir",
];

/// The name under which the caller of [`load_project`] gives makes' modules written in Nix:
/// a set from module name to a function of the module's merged configuration giving the set
/// of its jobs (`{ formatBash = config: { "/formatBash" = ...; }; }`). No module sees it.
pub const MODULES_ARGUMENT: &str = "__makesModules";

/// The name of makes' job building every other job (`makes . __all__`): makes' own output,
/// never listed.
pub const ALL_JOBS: &str = "__all__";

/// One job of the project: its lazy value and where it is defined.
#[derive(Clone)]
pub struct Job {
    pub value: Thunk,
    pub span: Option<Span>,
    /// What kind of job it is: a package to build, or makes' `deployContainer` (whose value
    /// is its configuration set).
    pub kind: JobKind,
    /// What `outputs."<name>"` is to other jobs when it is not `value`: for a deploy job,
    /// makes' deploy script (a package), while running the job pushes natively.
    pub as_output: Option<Thunk>,
}

impl Job {
    /// What `outputs."<name>"` is to other jobs.
    pub fn output(&self) -> Thunk {
        self.as_output.clone().unwrap_or_else(|| self.value.clone())
    }
}

/// The kinds of jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    Build,
    /// `deployContainer.<name>`: build `src`, push it to `image`.
    DeployContainer,
    /// `deployContainerManifest.<name>`: push a manifest list of images already pushed.
    DeployContainerManifest,
}

impl JobKind {
    /// Whether the job pushes to a registry (its value is its configuration set, read by
    /// [`crate::reduce_deploy_job`]).
    pub fn is_deploy(self) -> bool {
        matches!(
            self,
            JobKind::DeployContainer | JobKind::DeployContainerManifest
        )
    }
}

/// An evaluated project: its jobs by name (sorted), values still lazy.
pub struct Project {
    pub dir: PathBuf,
    pub jobs: BTreeMap<String, Job>,
    /// The release whose rules apply, and why.
    pub release: ReleaseRules,
    /// Modules the project configures that the pinned release does not have (makes of that
    /// release would reject them; they are read as the releases that have them read them).
    pub other_release_modules: Vec<String>,
    /// Every makes module (top-level option) the project sets.
    pub modules_set: Vec<String>,
}

impl Project {
    /// The names of the jobs makes lists (every job but [`ALL_JOBS`]), sorted.
    pub fn listed_jobs(&self) -> impl Iterator<Item = &String> {
        self.jobs.keys().filter(|name| *name != ALL_JOBS)
    }

    /// Whether `release` has every module the project sets.
    pub fn fits(&self, release: Release) -> bool {
        self.modules_set.iter().all(|name| {
            modules::find(name).is_some_and(|m| m.first <= release && release <= m.last)
        })
    }
}

/// The names of makes' modules (top-level options) of every release.
pub fn module_names() -> impl Iterator<Item = &'static str> {
    modules::MODULES.iter().map(|m| m.name)
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

/// Evaluates `dir/makes.nix` (a missing one is `{ }`, as makes reads it) and its imports.
/// `arguments` are the makes arguments (all but `inputs` and `outputs`, which are the
/// project's own fixpoints and are added here); `finished_arguments` receives the set
/// modules are applied to, before any is read; `release` the rules that apply
/// ([`pinned_release`], or [`fitted`] to what the project sets).
pub fn load_project(
    ev: &Evaluator,
    dir: &Path,
    arguments: Vec<(&str, Thunk)>,
    finished_arguments: &RefCell<Option<AttrSet>>,
    release: ReleaseRules,
) -> Result<Project, SpecError> {
    let modules: Rc<RefCell<Vec<AttrSet>>> = Rc::default();
    let module_outputs = arguments
        .iter()
        .find(|(n, _)| *n == MODULES_ARGUMENT)
        .map(|(_, v)| v.clone());
    // Legacy jobs are imported with the very arguments being built here.
    let args_cell: Rc<RefCell<Option<AttrSet>>> = Rc::default();
    // Every job with its kind, filled when `outputs` is first forced.
    let table: Rc<RefCell<BTreeMap<String, Job>>> = Rc::default();
    // `outputs` and `inputs` are the merged results of all modules (`jobs`, `outputs`, the
    // modules' jobs and the legacy `main.nix` jobs), computed on demand, so a module may read
    // them lazily.
    let merged_jobs = {
        let (modules, args_cell, table) = (modules.clone(), args_cell.clone(), table.clone());
        let (dir, rel) = (dir.to_path_buf(), release.release);
        Thunk::deferred(move |ev| {
            let args = args_cell.borrow().clone().unwrap_or_default();
            let context = jobs::Context {
                dir: &dir,
                args: &args,
                release: rel,
                module_outputs: module_outputs.as_ref(),
            };
            let jobs = jobs::collect(ev, &modules.borrow(), &context)?;
            let mut attrs = Attrs::new();
            for (name, job) in &jobs {
                attrs.insert(name.as_str(), job.output(), job.span);
            }
            *table.borrow_mut() = jobs;
            Ok(Value::attrs(attrs))
        })
    };
    let merged_inputs = inputs::merged_inputs(modules.clone(), &arguments);
    let config = jobs::merged_config(modules.clone(), merged_inputs.clone(), merged_jobs.clone());
    let options = options::options_argument(modules.clone(), config.clone(), release.release);
    let args = project_arguments(
        arguments,
        merged_inputs,
        merged_jobs.clone(),
        config,
        options,
    );
    *args_cell.borrow_mut() = Some(args.clone());
    *finished_arguments.borrow_mut() = Some(args.clone());

    // Modules to read: files, or (as the module system allows) sets and functions written
    // inline in `imports`.
    let mut pending = vec![Pending::File(dir.join("makes.nix"))];
    let mut seen = Vec::new();
    while let Some(next) = pending.pop() {
        let module = match next {
            Pending::File(path) => {
                if seen.contains(&path) {
                    continue;
                }
                seen.push(path.clone());
                // makes reads a project without makes.nix as `{ }`; imports must exist.
                if seen.len() == 1 && !path.exists() {
                    continue;
                }
                evaluate_module(ev, &path, &args)?
            }
            Pending::Inline(value, span) => match apply_to_arguments(ev, value, &args)? {
                Value::Attrs(a) => a,
                other => {
                    return Err(SpecError::WrongType {
                        attr: "imports".into(),
                        expected: "paths, sets or functions returning sets",
                        found: other.describe().into(),
                        span,
                    })
                }
            },
        };
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
                match item.force(ev)? {
                    v @ (Value::Attrs(_) | Value::Lambda(_)) => {
                        pending.push(Pending::Inline(v, imports.span))
                    }
                    v => {
                        let p = ev.coerce_to_path(&v, imports.span.unwrap_or_else(Span::none))?;
                        pending.push(Pending::File(PathBuf::from(&*p)));
                    }
                }
            }
        }
        modules.borrow_mut().push(module);
    }

    let mut other_release = Vec::new();
    let mut modules_set = Vec::new();
    for module in modules.borrow().iter() {
        for (name, attr) in module.iter() {
            if LOADER_TOP_LEVEL.contains(&&**name) {
                continue;
            }
            if let Some(m) = modules::find(name) {
                modules_set.push(name.to_string());
                let r = release.release;
                if r < m.first || r > m.last {
                    other_release.push(name.to_string());
                }
                continue;
            }
            let mut known: Vec<&str> = LOADER_TOP_LEVEL
                .iter()
                .copied()
                .chain(modules::MODULES.iter().map(|m| m.name))
                .collect();
            known.sort_unstable();
            return Err(SpecError::UnknownTopLevel {
                name: name.to_string(),
                known: known.join(", "),
                span: attr.span,
            });
        }
    }
    other_release.sort();
    other_release.dedup();
    modules_set.sort();
    modules_set.dedup();

    merged_jobs.force(ev)?;
    let jobs = table.borrow().clone();
    Ok(Project {
        dir: dir.to_path_buf(),
        jobs,
        release,
        other_release_modules: other_release,
        modules_set,
    })
}

/// A module file's attribute set: applied to the makes arguments when it is a function (only
/// the arguments its formals name, as the module system does).
fn evaluate_module(ev: &Evaluator, path: &Path, args: &AttrSet) -> Result<AttrSet, SpecError> {
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
    args: &AttrSet,
) -> makes_eval::Result<Value> {
    let value = ev.eval_file(path)?;
    apply_to_arguments(ev, value, args)
}

/// A module's value: a function is applied to the makes arguments (only those its formals
/// name when it has no `...`, as the module system passes them). A formal makes does not pass
/// fails only where its value is used, as the module system reads it from `_module.args`
/// lazily: a module may name an argument it only shadows.
fn apply_to_arguments(ev: &Evaluator, value: Value, args: &AttrSet) -> makes_eval::Result<Value> {
    let Value::Lambda(closure) = &value else {
        return Ok(value);
    };
    let arg = match &closure.def.param {
        makes_syntax::ir::Param::Pattern {
            formals, ellipsis, ..
        } => {
            let mut picked = if *ellipsis {
                args.to_attrs()
            } else {
                Attrs::new()
            };
            for formal in formals {
                match args.get(&formal.name) {
                    Some(a) => picked.insert(formal.name.clone(), a.value.clone(), a.span),
                    None if formal.default.is_none() => picked.insert(
                        formal.name.clone(),
                        not_passed(&formal.name, formal.span),
                        Some(formal.span),
                    ),
                    None => {}
                }
            }
            Value::attrs(picked)
        }
        _ => Value::Attrs(args.clone()),
    };
    ev.apply(&value, Thunk::value(arg), closure.def.span)
}

/// The value of a module argument makes does not pass: an error naming it when used.
fn not_passed(name: &str, span: Span) -> Thunk {
    let message = format!("makes passes no argument '{name}' to modules (of this release or any)");
    Thunk::deferred(move |_| Err(EvalError::other(message.clone(), Some(span))))
}

/// A module still to read.
enum Pending {
    File(PathBuf),
    Inline(Value, Option<Span>),
}

/// The union of one top-level attribute over all modules (`jobs` or `inputs`).
fn merged_attr(ev: &Evaluator, modules: &[AttrSet], name: &str) -> makes_eval::Result<Attrs> {
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
