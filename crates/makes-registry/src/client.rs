//! The client: options, credentials per registry, and the HTTP client it talks through
//! (`makes-http`: verified TLS, and unverified TLS for the registries the caller marks
//! insecure).
//!
//! `pull` and `push` are implemented in their own modules on top of [`crate::session`].

use std::collections::HashMap;
use std::sync::Mutex;

use makes_http::{HttpClient, HttpOptions};

use crate::auth::Credentials;
use crate::error::RegistryError;

/// How the client talks to registries.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Registries, as named in references (`host[:port]`, `docker.io`), that may be reached over
    /// plain HTTP and whose TLS certificate is not verified. HTTPS is tried first, as Docker
    /// does for its insecure registries.
    pub insecure_registries: Vec<String>,
    /// CA files, retries (per request, on connection errors, 5xx and 429), timeouts and
    /// transfer limits.
    pub http: HttpOptions,
}

/// A client of the OCI distribution API. Cheap to share by reference across threads.
pub struct RegistryClient {
    pub(crate) options: ClientOptions,
    pub(crate) http: HttpClient,
    credentials: HashMap<String, Credentials>,
    /// `https` or `http`, once found, for each insecure registry.
    pub(crate) schemes: Mutex<HashMap<String, &'static str>>,
}

impl RegistryClient {
    /// A client with `options` and the proxies of the environment; fails only when a CA file
    /// cannot be used or a proxy variable is not a proxy.
    pub fn new(options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let http = HttpClient::new(options.http.clone())?;
        Ok(RegistryClient {
            options,
            http,
            credentials: HashMap::new(),
            schemes: Mutex::new(HashMap::new()),
        })
    }

    /// Uses `credentials` for `registry` (as named in references: `docker.io`, `ghcr.io`,
    /// `127.0.0.1:5000`), both for Basic auth and to obtain bearer tokens.
    pub fn with_credentials(mut self, registry: &str, credentials: Credentials) -> RegistryClient {
        self.credentials.insert(registry.to_string(), credentials);
        self
    }

    pub(crate) fn credentials_for(&self, registry: &str) -> Option<&Credentials> {
        self.credentials.get(registry)
    }

    pub(crate) fn is_insecure(&self, registry: &str) -> bool {
        self.options
            .insecure_registries
            .iter()
            .any(|r| r == registry)
    }
}
