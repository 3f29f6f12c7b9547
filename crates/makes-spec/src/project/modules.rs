//! makes' modules: every top-level option of every release (makes' `src/evaluator/modules/*`),
//! the releases that have it, and the jobs it makes, under the names makes gives them
//! (`/lintNix`, `/envVars/<name>`, `/deployTerraform/<module>`, ...). `jobs`, `imports`,
//! `inputs`, `outputs` and the legacy directories are handled by the project loader itself.

use super::release::Release;
use super::JobKind;
use makes_eval::AttrSet;
use makes_eval::{Attrs, Evaluator, Thunk, Value};
use makes_syntax::Span;
use std::path::Path;

/// How a module's configuration names its jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// No job (`cache`).
    None,
    /// `/<option>` when `<option>.enable` is true (`lintNix`, `formatBash`, ...).
    Enable,
    /// `/<option>/<name>` for each attribute (`envVars`, `dev`, `testPython`, ...).
    PerName,
    /// [`Shape::Enable`] before the release, [`Shape::PerName`] from it on (`formatPython`
    /// became a set of named configurations in 23.06).
    EnableThenPerName(Release),
    /// `/<option>/<name>` for each attribute of `<option>.<key>` (`deployTerraform.modules`).
    PerNameUnder(&'static str),
    /// `/deployNomad/<namespace>/<name>` from `jobs` and `namespaces.<ns>.jobs`.
    DeployNomad,
    /// `/lintPython/{imports,module}/<name>` and `/lintPython/dirOfModules/<name>[/<dir>]`
    /// (configured under `dirsOfModules` before 24.02, `dirOfModules` in 24.02).
    LintPython,
    /// `/pipeline/<name>`, and `/pipelineOnGitlab/<name>` when `gitlabPath` is set.
    Pipelines,
    /// A deploy job per image: `/<option>/<name>` pushing `src` to `registry/tag` (before
    /// 24.09) or `image` (24.09 on).
    Deploy,
    /// A manifest list per name: `/deployContainerManifest/<name>` pushing a list of
    /// `manifests` to `image` and `tags` (24.02 nests the three under `config`).
    DeployManifest,
}

/// One top-level option of makes.
pub(crate) struct Module {
    pub name: &'static str,
    pub first: Release,
    pub last: Release,
    pub shape: Shape,
}

const fn module(name: &'static str, first: (u8, u8), last: (u8, u8), shape: Shape) -> Module {
    Module {
        name,
        first: Release::new(first.0, first.1),
        last: Release::new(last.0, last.1),
        shape,
    }
}

const ALWAYS: (u8, u8) = (21, 9);
const NOW: (u8, u8) = (24, 12);

/// Every module of every release (from the release tags' `src/evaluator/modules/`).
pub(crate) const MODULES: &[Module] = &[
    module("cache", ALWAYS, NOW, Shape::None),
    module("calculateScorecard", (22, 3), (24, 2), Shape::Enable),
    module("computeOnAwsBatch", (21, 10), NOW, Shape::PerName),
    // 24.02 nests the images (`deployContainer.images.<name>`); 24.09 flattens them.
    module("deployContainer", (24, 2), NOW, Shape::Deploy),
    module("deployContainerImage", ALWAYS, (24, 1), Shape::Deploy),
    module(
        "deployContainerManifest",
        (24, 2),
        NOW,
        Shape::DeployManifest,
    ),
    module("deployNomad", (21, 11), (24, 2), Shape::DeployNomad),
    module(
        "deployTerraform",
        ALWAYS,
        NOW,
        Shape::PerNameUnder("modules"),
    ),
    module("dev", (21, 11), NOW, Shape::PerName),
    module("dynamoDb", (21, 12), NOW, Shape::PerName),
    module("envVars", ALWAYS, NOW, Shape::PerName),
    module("envVarsForTerraform", ALWAYS, NOW, Shape::PerName),
    module("formatBash", ALWAYS, NOW, Shape::Enable),
    module("formatJavaScript", (21, 11), (24, 2), Shape::Enable),
    module("formatMarkdown", ALWAYS, NOW, Shape::Enable),
    module("formatNix", ALWAYS, NOW, Shape::Enable),
    module("formatNixWithAlejandra", (22, 3), (22, 3), Shape::Enable),
    module(
        "formatPython",
        ALWAYS,
        (24, 2),
        Shape::EnableThenPerName(Release::new(23, 6)),
    ),
    module("formatScala", (21, 11), (24, 2), Shape::Enable),
    module("formatTerraform", ALWAYS, NOW, Shape::Enable),
    module("formatYaml", (22, 8), NOW, Shape::Enable),
    module("helloWorld", ALWAYS, (24, 9), Shape::Enable),
    module("lintBash", ALWAYS, NOW, Shape::Enable),
    module("lintClojure", ALWAYS, (24, 2), Shape::PerName),
    module("lintGitCommitMsg", ALWAYS, (24, 9), Shape::Enable),
    module("lintGitMailMap", ALWAYS, NOW, Shape::Enable),
    module("lintMarkdown", ALWAYS, (24, 2), Shape::PerName),
    module("lintNix", ALWAYS, NOW, Shape::Enable),
    module("lintPython", ALWAYS, (24, 2), Shape::LintPython),
    module("lintTerraform", ALWAYS, NOW, Shape::PerNameUnder("modules")),
    module("lintWithAjv", ALWAYS, NOW, Shape::PerName),
    module("lintWithLizard", ALWAYS, (24, 2), Shape::PerName),
    module("pipelines", ALWAYS, NOW, Shape::Pipelines),
    module("secretsForAwsFromEnv", ALWAYS, NOW, Shape::PerName),
    module("secretsForAwsFromGitlab", (22, 9), NOW, Shape::PerName),
    module("secretsForEnvFromSops", ALWAYS, NOW, Shape::PerName),
    module("secretsForGpgFromEnv", (21, 10), (24, 9), Shape::PerName),
    module(
        "secretsForKubernetesConfigFromAws",
        ALWAYS,
        (24, 2),
        Shape::PerName,
    ),
    module("secretsForTerraformFromEnv", ALWAYS, NOW, Shape::PerName),
    module(
        "secureKubernetesWithRbacPolice",
        (22, 9),
        (24, 2),
        Shape::PerName,
    ),
    module("secureNixWithVulnix", (21, 10), (22, 2), Shape::PerName),
    module("securePythonWithBandit", ALWAYS, (24, 2), Shape::PerName),
    module(
        "taintTerraform",
        ALWAYS,
        (24, 2),
        Shape::PerNameUnder("modules"),
    ),
    module("testLicense", (23, 6), NOW, Shape::Enable),
    module(
        "testPullRequest",
        (23, 4),
        (24, 1),
        Shape::PerNameUnder("modules"),
    ),
    module("testPython", (21, 10), (24, 2), Shape::PerName),
    module("testTerraform", ALWAYS, NOW, Shape::PerNameUnder("modules")),
    module(
        "workspaceForTerraformFromEnv",
        (22, 11),
        (24, 2),
        Shape::PerNameUnder("modules"),
    ),
];

pub(crate) fn find(name: &str) -> Option<&'static Module> {
    MODULES.iter().find(|m| m.name == name)
}

/// A job a module makes: its name, and for deploy jobs their kind and the set they read.
#[derive(Clone)]
pub(crate) struct ModuleJob {
    pub name: String,
    pub span: Option<Span>,
    pub deploy: Option<(JobKind, Thunk)>,
}

/// The jobs `module` makes from its value `config` (merged over the project's modules).
pub(crate) fn module_jobs(
    ev: &Evaluator,
    module: &Module,
    config: &Attrs,
    release: Release,
    project_dir: &Path,
) -> makes_eval::Result<Vec<ModuleJob>> {
    let top = module.name;
    let job = |name: String, span| ModuleJob {
        name,
        span,
        deploy: None,
    };
    let mut jobs = Vec::new();
    let shape = match module.shape {
        // A boolean `enable` is the older form whatever the release: a project whose release
        // is a guess (makes' own checkout pins no tag) says so by the form it writes.
        Shape::EnableThenPerName(from) if release < from || enable_is_bool(ev, config)? => {
            Shape::Enable
        }
        Shape::EnableThenPerName(_) => Shape::PerName,
        shape => shape,
    };
    match shape {
        Shape::None | Shape::EnableThenPerName(_) => {}
        Shape::Enable => {
            if let Some(enable) = config.get("enable") {
                if let Value::Bool(true) = enable.value.force(ev)? {
                    jobs.push(job(format!("/{top}"), enable.span));
                }
            }
        }
        Shape::PerName => {
            for (name, attr) in config.iter() {
                jobs.push(job(format!("/{top}/{name}"), attr.span));
            }
        }
        Shape::PerNameUnder(key) => {
            for (name, attr) in sub_attrs(ev, config, key)?.iter() {
                jobs.push(job(format!("/{top}/{name}"), attr.span));
            }
        }
        Shape::DeployNomad => {
            for (name, attr) in sub_attrs(ev, config, "jobs")?.iter() {
                let namespace = match attr.value.force(ev)? {
                    Value::Attrs(a) => match a.get("namespace") {
                        Some(ns) => ev
                            .coerce_to_string(
                                &ns.value.force(ev)?,
                                makes_eval::CoercionMode::INTERPOLATION,
                                attr.span.unwrap_or_else(Span::none),
                            )?
                            .utf8()?
                            .to_owned(),
                        None => continue,
                    },
                    _ => continue,
                };
                jobs.push(job(format!("/{top}/{namespace}/{name}"), attr.span));
            }
            for (namespace, attr) in sub_attrs(ev, config, "namespaces")?.iter() {
                let Value::Attrs(ns) = attr.value.force(ev)? else {
                    continue;
                };
                for (name, job_attr) in sub_attrs(ev, &ns.to_attrs(), "jobs")?.iter() {
                    jobs.push(job(format!("/{top}/{namespace}/{name}"), job_attr.span));
                }
            }
        }
        Shape::LintPython => {
            for (name, attr) in sub_attrs(ev, config, "imports")?.iter() {
                jobs.push(job(format!("/{top}/imports/{name}"), attr.span));
            }
            for (name, attr) in sub_attrs(ev, config, "modules")?.iter() {
                jobs.push(job(format!("/{top}/module/{name}"), attr.span));
            }
            // A directory of modules: one job per subdirectory (`projectPathLsDirs src`),
            // and one for them all.
            // Either name is read: a project whose release is a guess (makes' own checkout
            // pins no tag) says by the name it writes which release it was written for.
            let mut dirs = sub_attrs(ev, config, "dirsOfModules")?.to_attrs();
            for (name, attr) in sub_attrs(ev, config, "dirOfModules")?.iter() {
                dirs.insert(name.clone(), attr.value.clone(), attr.span);
            }
            for (name, attr) in dirs.iter() {
                jobs.push(job(format!("/{top}/dirOfModules/{name}"), attr.span));
                let Value::Attrs(d) = attr.value.force(ev)? else {
                    continue;
                };
                let Some(src) = d.get("src") else { continue };
                let Value::String(src) = src.value.force(ev)? else {
                    continue;
                };
                // Within the project only, as `projectPath` reads it.
                let rel = Path::new(src.utf8()?.trim_start_matches('/'));
                if rel
                    .components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    continue;
                }
                for module in subdirectories(ev, &project_dir.join(rel)) {
                    jobs.push(job(
                        format!("/{top}/dirOfModules/{name}/{module}"),
                        attr.span,
                    ));
                }
            }
        }
        Shape::Pipelines => {
            for (name, attr) in config.iter() {
                jobs.push(job(format!("/pipeline/{name}"), attr.span));
                if let Value::Attrs(p) = attr.value.force(ev)? {
                    let on_gitlab = match p.get("gitlabPath") {
                        Some(g) => !matches!(g.value.force(ev)?, Value::Null),
                        None => false,
                    };
                    if on_gitlab {
                        jobs.push(job(format!("/pipelineOnGitlab/{name}"), attr.span));
                    }
                }
            }
        }
        Shape::Deploy => {
            // 24.09 on, `deployContainer.<name>` holds `image`; before, `.images.<name>`
            // holds `registry` and `tag`.
            let nested = top == "deployContainerImage" || release < Release::new(24, 9);
            let images = if nested {
                sub_attrs(ev, config, "images")?
            } else {
                AttrSet::from(config.clone())
            };
            for (name, attr) in images.iter() {
                let value = if nested {
                    nested_deploy(attr.value.clone())
                } else {
                    attr.value.clone()
                };
                jobs.push(ModuleJob {
                    name: format!("/{top}/{name}"),
                    span: attr.span,
                    deploy: Some((JobKind::DeployContainer, value)),
                });
            }
        }
        Shape::DeployManifest => {
            let nested = release < Release::new(24, 9);
            for (name, attr) in config.iter() {
                let value = if nested {
                    nested_manifest(attr.value.clone())
                } else {
                    attr.value.clone()
                };
                jobs.push(ModuleJob {
                    name: format!("/{top}/{name}"),
                    span: attr.span,
                    deploy: Some((JobKind::DeployContainerManifest, value)),
                });
            }
        }
    }
    Ok(jobs)
}

/// A 24.02 `deployContainerManifest.<name>` (`{ config = { image; tags; manifests; };
/// credentials; setup; sign; }`) as the flat set of 24.09 on.
fn nested_manifest(value: Thunk) -> Thunk {
    Thunk::deferred(move |ev| {
        let Value::Attrs(given) = value.force(ev)? else {
            return value.force(ev);
        };
        let mut flat = Attrs::new();
        for (name, attr) in given.iter() {
            if &**name != "config" {
                flat.insert(name.clone(), attr.value.clone(), attr.span);
            }
        }
        if let Some(config) = given.get("config") {
            match config.value.force(ev)? {
                Value::Attrs(config) => {
                    for (name, attr) in config.iter() {
                        flat.insert(name.clone(), attr.value.clone(), attr.span);
                    }
                }
                other => {
                    return Err(makes_eval::EvalError::type_error(
                        "a set",
                        &other,
                        config.span,
                    ))
                }
            }
        }
        Ok(Value::attrs(flat))
    })
}

/// The names of the subdirectories of `dir` (none when it cannot be read), `.git` left out as
/// `projectPath` leaves it out. Read through the evaluator, so only the project's files count.
fn subdirectories(ev: &Evaluator, dir: &Path) -> Vec<String> {
    let Ok(entries) = ev.io.read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .into_iter()
        .filter(|(name, kind)| *kind == makes_eval::FileKind::Directory && name != ".git")
        .map(|(name, _)| name)
        .collect();
    names.sort();
    names
}

/// Whether `config.enable` is a boolean.
fn enable_is_bool(ev: &Evaluator, config: &Attrs) -> makes_eval::Result<bool> {
    match config.get("enable") {
        Some(enable) => Ok(matches!(enable.value.force(ev)?, Value::Bool(_))),
        None => Ok(false),
    }
}

/// `config.<key>` as a set (absent: empty).
fn sub_attrs(ev: &Evaluator, config: &Attrs, key: &str) -> makes_eval::Result<AttrSet> {
    match config.get(key) {
        None => Ok(AttrSet::empty()),
        Some(attr) => match attr.value.force(ev)? {
            Value::Attrs(a) => Ok(a),
            other => Err(makes_eval::EvalError::type_error(
                "a set", &other, attr.span,
            )),
        },
    }
}

/// A `{ registry; tag; src; credentials; ... }` image of `deployContainerImage` (and of
/// 24.02's `deployContainer.images`) as the flat `{ image; src; credentials; ... }` set:
/// makes pushes to `"${registry}/${tag}"`.
fn nested_deploy(value: Thunk) -> Thunk {
    Thunk::deferred(move |ev| {
        let Value::Attrs(given) = value.force(ev)? else {
            return value.force(ev);
        };
        let mut flat = Attrs::new();
        for (name, attr) in given.iter() {
            if !matches!(&**name, "registry" | "tag") {
                flat.insert(name.clone(), attr.value.clone(), attr.span);
            }
        }
        if let (Some(registry), Some(tag)) = (given.get("registry"), given.get("tag")) {
            let (registry, tag) = (registry.clone(), tag.clone());
            let span = tag.span;
            let image = Thunk::deferred(move |ev| {
                let at = registry.span.unwrap_or_else(Span::none);
                let mode = makes_eval::CoercionMode::INTERPOLATION;
                let r = ev.coerce_to_string(&registry.value.force(ev)?, mode, at)?;
                let t = ev.coerce_to_string(&tag.value.force(ev)?, mode, at)?;
                Ok(Value::string([r.as_bytes(), b"/", t.as_bytes()].concat()))
            });
            flat.insert("image", image, span);
        }
        Ok(Value::attrs(flat))
    })
}
