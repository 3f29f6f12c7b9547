//! Pushing a built image archive, or a manifest list of pushed images, to a registry (for
//! `makes push` and deploy jobs). Credentials
//! come from environment variables named by the user; their values are never printed.

use crate::report::Failure;
use makes_registry::{
    ClientOptions, Credentials, ImageSource, ListEntry, Platform, Reference, RegistryClient,
};
use makes_spec::ManifestSpec;
use std::path::Path;

/// Where and how to push.
pub struct PushTarget<'a> {
    pub reference: &'a str,
    pub insecure: bool,
    /// Names of the variables holding the user and the token.
    pub credential_vars: Option<(&'a str, &'a str)>,
    pub attempts: Option<u32>,
    /// Where the credential variables are read: this process's environment when `None`, else
    /// the one a deploy job's setup left.
    pub environment: Option<&'a std::collections::HashMap<String, String>>,
}

/// Pushes the archive at `archive`; returns `REF@DIGEST` of what the registry now holds.
pub fn push_archive(archive: &Path, target: &PushTarget) -> Result<String, Failure> {
    let reference = Reference::parse(target.reference)?;
    let (client, had_credentials) = client_for(&reference, target)?;
    let quiet = crate::verbosity::quiet();
    if !quiet {
        say!("makes: pushing {reference}");
    }
    let started = std::time::Instant::now();
    let summary = client
        .push(&ImageSource::Archive(archive.to_owned()), &reference)
        .map_err(|e| {
            crate::registry_access::explain(
                e,
                crate::registry_access::Operation::Push,
                had_credentials,
            )
        })?;
    if !quiet {
        say!(
            "makes: pushed {reference} in {:.1}s: {} blobs uploaded ({}), {} already there",
            started.elapsed().as_secs_f64(),
            summary.uploaded.len(),
            indicatif::HumanBytes(summary.bytes_uploaded),
            summary.skipped.len()
        );
    }
    Ok(format!("{}@{}", reference, summary.manifest_digest))
}

/// A client for `reference`'s registry with `target`'s settings and credentials; whether it
/// has credentials.
fn client_for(
    reference: &Reference,
    target: &PushTarget,
) -> Result<(RegistryClient, bool), Failure> {
    let mut options = ClientOptions {
        http: crate::transfer_limits::http_options()?,
        ..ClientOptions::default()
    };
    if target.insecure || crate::registry_access::insecure_by_default(reference.registry()) {
        options
            .insecure_registries
            .push(reference.registry().to_owned());
    }
    if let Some(n) = target.attempts {
        options.http.retry.max_tries = n.max(1);
    }
    let mut client = RegistryClient::new(options)?;
    let mut had_credentials = target.credential_vars.is_some();
    if target.credential_vars.is_none() {
        if let Some(credentials) = crate::auth_files::stored_credentials(reference.registry()) {
            had_credentials = true;
            client = client.with_credentials(reference.registry(), credentials);
        }
    }
    if let Some((user_var, token_var)) = target.credential_vars {
        if ![user_var, token_var]
            .iter()
            .all(|v| makes_spec::is_variable_name(v))
        {
            // One may be the secret itself, given where its variable's name belongs.
            return Err(Failure::message(
                "the registry credentials must be given as the NAMES of environment variables \
                 (letters, digits and '_', not starting with a digit); a value that is not one \
                 was given and is not shown, as it may be a secret",
            ));
        }
        let read = |var: &str| {
            match target.environment {
                Some(environment) => environment.get(var).cloned(),
                None => std::env::var(var).ok(),
            }
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Failure::message(format!(
                    "the environment variable {var} (registry credentials) is not set"
                ))
            })
        };
        client = client.with_credentials(
            reference.registry(),
            Credentials::new(read(user_var)?, read(token_var)?),
        );
    }
    Ok((client, had_credentials))
}

/// Pushes the manifest list `spec` describes, of images already in the registry, to
/// `target` (its reference is `spec.image`) and to each of `spec.tags`; returns
/// `REF@DIGEST` of the list.
pub fn push_manifest_list(spec: &ManifestSpec, target: &PushTarget) -> Result<String, Failure> {
    let reference = Reference::parse(target.reference)?;
    let (client, had_credentials) = client_for(&reference, target)?;
    let mut entries = Vec::with_capacity(spec.manifests.len());
    for m in &spec.manifests {
        entries.push(ListEntry {
            image: Reference::parse(&m.image)?,
            platform: Platform::new(&m.os, &m.architecture, None),
        });
    }
    let quiet = crate::verbosity::quiet();
    if !quiet {
        say!(
            "makes: pushing the manifest list {reference} ({} images)",
            entries.len()
        );
    }
    let summary = client
        .push_manifest_list(&reference, &spec.tags, &entries)
        .map_err(|e| {
            crate::registry_access::explain(
                e,
                crate::registry_access::Operation::Push,
                had_credentials,
            )
        })?;
    if !quiet {
        say!(
            "makes: pushed the manifest list {} ({})",
            summary.references.join(", "),
            summary.media_type
        );
    }
    Ok(format!("{}@{}", reference, summary.digest))
}

/// The registries `MAKES_INSECURE_REGISTRIES` marks insecure.
pub fn insecure_registries() -> Vec<String> {
    std::env::var(crate::env_vars::MAKES_INSECURE_REGISTRIES)
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}
