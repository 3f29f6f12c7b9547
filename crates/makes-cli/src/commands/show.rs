//! `makes show [--project DIR] JOB`: the job's reduced spec as JSON on stdout, every default
//! filled in, without building anything (path literals are still added to the store, as
//! evaluation does), with the downloads its build will make (`fetches`).

use crate::realisation::{find_job, job_out_path, job_value};
use crate::report::{report_spec, Failure};
use crate::session::Session;
use crate::settings::Settings;
use makes_spec::{
    deploy_job_json, derivation_spec_json, image_spec_json, pull_spec_json, reduce_deploy_job,
};
use makes_store::packages::UsedOutput;
use makes_store::{Recipe, StorePath};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub fn show(project: Option<&Path>, job: &str, settings: &Settings) -> Result<(), Failure> {
    let mut session = Session::open(crate::session::project_eval_options(), settings.clone())?;
    session.symbolic_packages = true;
    let project = session.load_project(project)?;
    let entry = find_job(&project, job)?;
    let release = project.release.clone();
    let mut doc = if entry.kind.is_deploy() {
        let value = job_value(&session, entry, job)?;
        let spec = reduce_deploy_job(&session.evaluator, entry.kind, &value, entry.span)
            .map_err(|e| report_spec(&session.evaluator, &e))?;
        deploy_job_json(&spec)
    } else {
        let out_path = job_out_path(&session, &project, job)?;
        let recipe = session.recipes.get(&out_path);
        let out = out_path.to_absolute();
        let from_image = match &recipe {
            Some(Recipe::Image(spec)) => spec.from_image.clone(),
            _ => None,
        };
        let mut doc = match recipe {
            Some(Recipe::Image(spec)) => image_spec_json(&spec),
            Some(Recipe::Derivation(spec)) => derivation_spec_json(&spec),
            Some(Recipe::Pull(spec)) => pull_spec_json(&spec),
            Some(Recipe::Fetch(spec)) => serde_json::json!({
                "kind": if spec.unpack { "fetchArchive" } else { "fetchUrl" },
                "url": spec.url,
                "sha256": spec.sha256,
                "name": spec.name,
                "stripRoot": spec.unpack.then_some(spec.strip_root),
            }),
            None if session.derivations.deriver(&out).is_some() => {
                // A `builtins.derivation`: its `.drv`, as `nix show-derivation` shows it.
                let drv_path = session.derivations.deriver(&out).unwrap_or_default();
                let drv = session.derivations.get(&drv_path);
                drv.map(|d| d.to_json(&drv_path)).unwrap_or_default()
            }
            // A job that is a package of a set (`stdenv.mkDerivation { ... }`): the
            // reference, which its backend builds.
            None if session
                .packages()
                .is_some_and(|p| p.used().iter().any(|u| u.path == out_path)) =>
            {
                serde_json::json!({ "kind": "package" })
            }
            None => {
                return Err(Failure::message(format!(
                    "the job '{job}' names {out}, which no makes function made: there is no spec to show"
                )))
            }
        };
        let fetches = fetches_needed(&session, &out_path);
        if let Value::Object(m) = &mut doc {
            if !fetches.is_empty() {
                m.insert("fetches".into(), Value::Array(fetches));
            }
            m.insert("outPath".into(), Value::String(out));
            // A pulled base image shows as the reference it is, not only as a store path.
            let pulled = from_image.and_then(|p| session.recipes.get(&p).map(|r| (p, r)));
            if let Some((path, Recipe::Pull(pull))) = pulled {
                let mut reference = pull_spec_json(&pull);
                if let Value::Object(r) = &mut reference {
                    r.insert("outPath".into(), Value::String(path.to_absolute()));
                }
                m.insert("fromImage".into(), reference);
            }
        }
        doc
    };
    if let Some(packages) = session.packages() {
        mark_package_references(&mut doc, &packages.used(), session.symbolic_packages);
    }
    if let Value::Object(m) = &mut doc {
        m.insert("job".into(), Value::String(job.to_owned()));
        m.insert(
            "makesRelease".into(),
            serde_json::json!({ "release": release.release.to_string(), "why": release.reason }),
        );
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Failure::message(e.to_string()))?;
    crate::result_line::print_result(text);
    Ok(())
}

/// The downloads that building `out` makes, `{ url, outPath }` each: the fetches among what
/// it needs that the store lacks (a pinned `fetchTarball` waits for the build, as makes' own
/// fetchers do).
fn fetches_needed(session: &Session, out: &StorePath) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![out.clone()];
    let mut fetches = BTreeMap::new();
    while let Some(path) = stack.pop() {
        if !seen.insert(path.clone()) || session.store.is_valid(&path) {
            continue;
        }
        match session.recipes.get(&path) {
            Some(Recipe::Fetch(spec)) => {
                fetches.insert(path.to_absolute(), spec.url);
            }
            Some(recipe) => stack.extend(recipe.inputs()),
            None => {
                let drv = session
                    .derivations
                    .deriver(&path.to_absolute())
                    .and_then(|drv_path| session.derivations.get(&drv_path));
                let Some(drv) = drv else { continue };
                let outputs = drv.input_drvs.iter().flat_map(|(input, names)| {
                    let input = session.derivations.get(input);
                    names
                        .iter()
                        .filter_map(move |n| input.as_ref()?.outputs.get(n).map(|o| o.path.clone()))
                        .collect::<Vec<_>>()
                });
                let sources = drv.input_srcs.iter().cloned();
                stack.extend(
                    outputs
                        .chain(sources)
                        .filter_map(|p| StorePath::parse(&p).ok()),
                );
            }
        }
    }
    fetches
        .into_iter()
        .map(|(path, url)| serde_json::json!({ "url": url, "outPath": path }))
        .collect()
}

/// Package references stay symbolic in the printed spec: each `contents` entry that is a
/// package becomes `{ package, packageSet, output, outPath }`, and `packages` lists every
/// reference the job uses. Unresolved (the default: `show` needs no Nix and no lock file),
/// their paths are placeholders, shown as `outPath: null`, and so is the job's own outPath.
fn mark_package_references(doc: &mut Value, used: &[UsedOutput], symbolic: bool) {
    let Value::Object(m) = doc else {
        return;
    };
    let reference = |u: &UsedOutput| {
        serde_json::json!({
            "package": makes_store::packages::display_steps(&u.attr_path),
            "packageSet": u.set,
            "output": u.output,
            "outPath": if symbolic { Value::Null } else { Value::String(u.path.to_absolute()) },
        })
    };
    if m.get("kind").and_then(Value::as_str) == Some("package") {
        let out = m.get("outPath").and_then(Value::as_str).unwrap_or_default();
        if let Some(u) = used.iter().find(|u| u.path.to_absolute() == out) {
            m.insert("reference".into(), reference(u));
        }
    }
    if let Some(Value::Array(contents)) = m.get_mut("contents") {
        for item in contents.iter_mut() {
            if let Some(u) = used
                .iter()
                .find(|u| item.as_str() == Some(u.path.to_absolute().as_str()))
            {
                *item = reference(u);
            }
        }
    }
    if used.is_empty() {
        return;
    }
    m.insert(
        "packages".into(),
        Value::Array(used.iter().map(reference).collect()),
    );
    if symbolic {
        m.insert("outPath".into(), Value::Null);
    }
}
