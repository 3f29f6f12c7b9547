//! `makes show [--project DIR] JOB`: the job's reduced spec as JSON on stdout, every default
//! filled in, without building anything (path literals are still added to the store, as
//! evaluation does).

use crate::realisation::{find_job, job_out_path, job_value};
use crate::report::{report_spec, Failure};
use crate::session::Session;
use makes_eval::EvalOptions;
use makes_spec::{
    deploy_spec_json, derivation_spec_json, image_spec_json, pull_spec_json, reduce_deploy_spec,
    JobKind,
};
use makes_store::{Recipe, StorePath};
use serde_json::Value;
use std::path::Path;

pub fn show(project: Option<&Path>, job: &str) -> Result<(), Failure> {
    let session = Session::open(EvalOptions::default())?;
    let project = session.load_project(project)?;
    let entry = find_job(&project, job)?;
    let mut doc = if entry.kind == JobKind::DeployContainer {
        let value = job_value(&session, entry, job)?;
        let spec = reduce_deploy_spec(&session.evaluator, &value, entry.span)
            .map_err(|e| report_spec(&session.evaluator, &e))?;
        deploy_spec_json(&spec)
    } else {
        let out = job_out_path(&session, &project, job)?;
        let recipe = StorePath::parse(&out)
            .ok()
            .and_then(|p| session.recipes.get(&p));
        let mut doc = match recipe {
            Some(Recipe::Image(spec)) => image_spec_json(&spec),
            Some(Recipe::Derivation(spec)) => derivation_spec_json(&spec),
            Some(Recipe::Pull(spec)) => pull_spec_json(&spec),
            None => {
                return Err(Failure::message(format!(
                    "the job '{job}' names {out}, which no makes function made: there is no spec to show"
                )))
            }
        };
        if let Value::Object(m) = &mut doc {
            m.insert("outPath".into(), Value::String(out));
        }
        doc
    };
    if let Value::Object(m) = &mut doc {
        m.insert("job".into(), Value::String(job.to_owned()));
    }
    let text = serde_json::to_string_pretty(&doc).map_err(|e| Failure::message(e.to_string()))?;
    println!("{text}");
    Ok(())
}
