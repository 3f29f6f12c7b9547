//! `dockerTools.pullImage` through the native registry client: the image is fetched by its
//! digest into the store path being built, as an OCI image layout. Private registries use the
//! credentials stored by `docker login` / `podman login` or a credential helper (see
//! `auth_files`); loopback registries are reached as insecure ones, as Docker does.

use crate::registry_access::{explain, insecure_by_default, Operation};
use makes_registry::{ClientOptions, Digest, Platform, Reference, RegistryClient};
use makes_spec::PullSpec;
use makes_store::{ImagePuller, PluginError};
use std::path::Path;

pub struct RegistryPuller;

impl ImagePuller for RegistryPuller {
    fn pull_image(&self, spec: &PullSpec, out_dir: &Path) -> Result<(), PluginError> {
        let reference = Reference::parse(&spec.image_name).map_err(PluginError::new)?;
        let digest = Digest::parse(&spec.image_digest).map_err(PluginError::new)?;
        let mut options = ClientOptions {
            http: crate::transfer_limits::http_options().map_err(PluginError::new)?,
            ..ClientOptions::default()
        };
        if !spec.tls_verify || insecure_by_default(reference.registry()) {
            options
                .insecure_registries
                .push(reference.registry().to_owned());
        }
        let mut client = RegistryClient::new(options).map_err(PluginError::new)?;
        let credentials = crate::auth_files::stored_credentials(reference.registry());
        let had_credentials = credentials.is_some();
        if let Some(credentials) = credentials {
            client = client.with_credentials(reference.registry(), credentials);
        }
        let platform = Platform::new(&spec.os, &spec.arch, None);
        client
            .pull(&reference, Some(&digest), &platform, out_dir)
            .map(|_| ())
            .map_err(|e| PluginError::new(explain(e, Operation::Pull, had_credentials)))
    }
}
