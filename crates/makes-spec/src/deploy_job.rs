//! The jobs that push to a registry, one reduced spec per kind: `deployContainer` (an image)
//! and `deployContainerManifest` (a manifest list of pushed images).

use crate::deploy::{reduce_deploy_spec, DeploySpec};
use crate::deploy_manifest::{reduce_manifest_spec, ManifestSpec};
use crate::error::SpecError;
use crate::project::JobKind;
use makes_eval::{Evaluator, Value};
use makes_store_path::StorePath;
use makes_syntax::Span;

/// What a deploy job pushes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeployJob {
    Image(DeploySpec),
    Manifest(ManifestSpec),
}

impl DeployJob {
    /// The scripts sourced before the push.
    pub fn setup(&self) -> &[StorePath] {
        match self {
            DeployJob::Image(spec) => &spec.setup,
            DeployJob::Manifest(spec) => &spec.setup,
        }
    }

    /// The cosign that signs what was pushed, when `sign` is true.
    pub fn sign_with(&self) -> Option<&StorePath> {
        match self {
            DeployJob::Image(spec) => spec.sign_with.as_ref(),
            DeployJob::Manifest(spec) => spec.sign_with.as_ref(),
        }
    }

    /// Names of the variables holding the registry's user and token.
    pub fn credential_vars(&self) -> Option<(&str, &str)> {
        let vars = match self {
            DeployJob::Image(spec) => &spec.credential_vars,
            DeployJob::Manifest(spec) => &spec.credential_vars,
        };
        vars.as_ref().map(|(u, t)| (u.as_str(), t.as_str()))
    }
}

/// The spec of a deploy job of `kind` (see [`JobKind::is_deploy`]) from its value.
pub fn reduce_deploy_job(
    ev: &Evaluator,
    kind: JobKind,
    value: &Value,
    span: Option<Span>,
) -> Result<DeployJob, SpecError> {
    match kind {
        JobKind::DeployContainerManifest => {
            reduce_manifest_spec(ev, value, span).map(DeployJob::Manifest)
        }
        _ => reduce_deploy_spec(ev, value, span).map(DeployJob::Image),
    }
}
