//! A native client of the OCI distribution API, for `dockerTools.pullImage`/`fromImage` and
//! `makes push`: no Nix, no skopeo, no Docker daemon.
//!
//! - [`Reference`]: image references normalised as Docker does (`alpine` is
//!   `docker.io/library/alpine:latest`, served by `registry-1.docker.io`).
//! - [`RegistryClient::pull`]: a manifest by digest (verified), the platform's manifest of an
//!   index, then config and layers streamed into an OCI image layout, each verified against its
//!   digest before it is renamed into place.
//! - [`RegistryClient::push`]: an OCI layout directory or makes' archive; blobs the registry
//!   has are skipped (`HEAD`), the others uploaded, then the manifest put under the tag.
//! - [`RegistryClient::push_manifest_list`]: a manifest list of images already pushed, one
//!   per platform (makes' `deployContainerManifest`).
//! - Anonymous, Basic and bearer-token authentication ([`Credentials`]); plain HTTP or
//!   unverified TLS only for registries marked insecure ([`ClientOptions`]).
//! - Everything about HTTP itself (TLS roots and extra CA files, proxies, retries with
//!   backoff on connection errors, 5xx and 429, the deadline of every request and the minimum
//!   rate of every transfer, making what a server sends printable) is `makes-http`'s, shared
//!   with the binary-cache substituter and the URL fetchers.
//!
//! The crate returns files and bytes and knows nothing of the store or the evaluator, so
//! dependencies point one way (the CLI joins them). It prints nothing and never writes a credential
//! anywhere: not in errors, not in files.

mod auth;
mod client;
mod error;
mod layout;
mod manifest;
mod pull;
mod push;
mod push_list;
mod reference;
mod session;
mod source;

pub use auth::Credentials;
pub use client::{ClientOptions, RegistryClient};
pub use error::RegistryError;
pub use makes_http::{HttpOptions, RetryPolicy, TransferLimits};
pub use makes_oci_model::media_types::{
    DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
};
pub use makes_oci_model::{Digest, Platform};
pub use pull::{PulledImage, PulledLayer};
pub use push::PushSummary;
pub use push_list::{ListEntry, ListSummary};
pub use reference::{Reference, DOCKER_HUB, DOCKER_HUB_API_HOST};
pub use source::ImageSource;
