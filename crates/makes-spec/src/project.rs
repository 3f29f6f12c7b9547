//! Reading a makes project as the original makes did (shared/spec/REFERENCE.md section 1):
//! `makes.nix` as a module (a set, or a function of the makes arguments), `imports` merged
//! recursively, `jobs` with `/`-names, and lazy `inputs`/`outputs` fixpoints.

use crate::error::SpecError;
use crate::reduce_derivation::sanitize_derivation_name;
use makes_eval::{
    make_primop, Attrs, CoercionMode, EvalError, EvalErrorKind, Evaluator, PrimOpFn, Thunk, Value,
};
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
    "deployContainer",
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
    native: Vec<(&str, Value)>,
) -> Result<Project, SpecError> {
    let modules: Rc<RefCell<Vec<Rc<Attrs>>>> = Rc::default();
    // `outputs` and `inputs` are the merged results of all modules, computed on demand, so a
    // module may read them lazily while being evaluated.
    let merged_jobs = {
        let modules = modules.clone();
        Thunk::deferred(move |ev| merged_attr(ev, &modules.borrow(), "jobs"))
    };
    let merged_inputs = {
        let modules = modules.clone();
        Thunk::deferred(move |ev| merged_attr(ev, &modules.borrow(), "inputs"))
    };
    let args = makes_arguments(ev, dir, native, merged_inputs, merged_jobs.clone());

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

/// The union of one top-level attribute over all modules (`jobs` or `inputs`).
fn merged_attr(ev: &Evaluator, modules: &[Rc<Attrs>], name: &str) -> makes_eval::Result<Value> {
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
    Ok(Value::Attrs(Rc::new(merged)))
}

fn makes_arguments(
    ev: &Evaluator,
    dir: &Path,
    native: Vec<(&str, Value)>,
    inputs: Thunk,
    outputs: Thunk,
) -> Rc<Attrs> {
    let mut args = Attrs::new();
    for name in MAKES_ARGUMENTS {
        let owned = name.to_string();
        args.insert(
            *name,
            Thunk::deferred(move |_| Err(EvalError::new(EvalErrorKind::NotSupported(owned), None))),
            None,
        );
    }
    args.insert("inputs", inputs, None);
    args.insert("outputs", outputs, None);
    let project_id = dir
        .file_name()
        .map(|n| sanitize_derivation_name(&n.to_string_lossy()))
        .unwrap_or_else(|| "project".into());
    args.insert(
        "projectIdentifier",
        Thunk::value(Value::string(project_id)),
        None,
    );
    let root: Rc<str> = dir.to_string_lossy().into();
    // `projectPath` needs the store: it comes with the native arguments.
    args.insert("projectSrc", Thunk::value(Value::Path(root)), None);
    let to_name: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::String(s) => Ok(Value::string(sanitize_derivation_name(s.as_str()))),
        other => Err(EvalError::type_error("a string", &other, None)),
    });
    args.insert(
        "toDerivationName",
        Thunk::value(make_primop("toDerivationName", 1, to_name)),
        None,
    );
    let attrs_optional: PrimOpFn = Rc::new(|ev, a| match a[0].force(ev)? {
        Value::Bool(true) => a[1].force(ev),
        Value::Bool(false) => Ok(Value::Attrs(Rc::new(Attrs::new()))),
        other => Err(EvalError::type_error("a Boolean", &other, None)),
    });
    args.insert(
        "attrsOptional",
        Thunk::value(make_primop("attrsOptional", 2, attrs_optional)),
        None,
    );
    let to_bash_array: PrimOpFn = Rc::new(|ev, a| {
        let Value::List(items) = a[0].force(ev)? else {
            return Err(EvalError::other("toBashArray expects a list", None));
        };
        let mut context = makes_eval::Context::default();
        let mut words = Vec::new();
        for item in items.iter() {
            let v = item.force(ev)?;
            let s = ev.coerce_to_string(&v, CoercionMode::TO_STRING, no_span())?;
            s.merge_context_into(&mut context);
            words.push(format!("'{}'", s.as_str().replace('\'', "'\\''")));
        }
        Ok(Value::String(makes_eval::NixString::with_context(
            format!("( {} )", words.join(" ")),
            context,
        )))
    });
    args.insert(
        "toBashArray",
        Thunk::value(make_primop("toBashArray", 1, to_bash_array)),
        None,
    );
    for (name, value) in native {
        args.insert(name, Thunk::value(value), None);
    }
    let _ = ev;
    Rc::new(args)
}

fn no_span() -> Span {
    Span {
        file: makes_syntax::FileId(u32::MAX),
        start: 0,
        end: 0,
    }
}
