//! Typed makes job specs reduced from evaluated Nix values.
//!
//! The evaluator hands over values; this crate turns them into plain data (`ImageSpec`,
//! `DerivationSpec`) with the documented defaults, reporting mistakes with the span of the
//! attribute they are about, and reads a makes project (`load_project`). Later stages (store,
//! image builder) only see the plain types.

mod context_inputs;
mod deploy;
mod deploy_job;
mod deploy_manifest;
mod derivation;
mod error;
mod fetch;
mod image;
mod layering_pipeline;
mod oci_config;
mod oci_names;
mod project;
mod pull;
mod reduce;
mod reduce_derivation;
mod reduce_image;
mod reduce_script;
mod reduce_template;
mod run_time_variables;
mod show;

pub use context_inputs::{input_paths, resolve_derivation_contexts};
pub use deploy::{is_variable_name, reduce_deploy_spec, DeploySpec};
pub use deploy_job::{reduce_deploy_job, DeployJob};
pub use deploy_manifest::{reduce_manifest_spec, ManifestEntry, ManifestSpec};
pub use derivation::{DerivationSpec, SearchPaths};
pub use error::{DeployImageError, InvalidOciValue, SpecError};
pub use fetch::{reduce_fetch_archive_spec, reduce_fetch_spec, FetchSpec};
pub use image::{host_architecture, Compressor, Created, ImageSpec, DEFAULT_CREATED};
pub use layering_pipeline::{LayeringPipeline, LayeringStep, PipelineSyntaxError, SplitPath};
pub use oci_names::{validate_image_name, validate_reference, validate_tag};
pub use project::{
    find_project_dir, fitted, load_project, module_names, pinned_release, Job, JobKind, Project,
    Release, ReleaseRules, ALL_JOBS, MODULES_ARGUMENT,
};
pub use pull::{reduce_pull_spec, PullSpec};
pub use reduce_derivation::{reduce_derivation_spec, sanitize_derivation_name};
pub use reduce_image::{reduce_image_spec, reduce_image_spec_of, validate_date, ImageFunction};
pub use reduce_script::{reduce_script_spec, ScriptSpec};
pub use reduce_template::{
    cleared_search_paths_text, is_placeholder, reduce_template_spec, search_paths_template_text,
    TemplateSpec,
};
pub use show::{
    deploy_job_json, deploy_spec_json, derivation_spec_json, image_spec_json, pull_spec_json,
};
