//! The client: options, credentials per registry, and the two HTTP agents (verified TLS, and
//! unverified TLS for the registries the caller marks insecure).
//!
//! `pull` and `push` are implemented in their own modules on top of [`crate::session`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::auth::Credentials;
use crate::error::RegistryError;
use crate::tls;
use crate::transfer::TransferLimits;

/// How the client talks to registries.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Registries, as named in references (`host[:port]`, `docker.io`), that may be reached over
    /// plain HTTP and whose TLS certificate is not verified. HTTPS is tried first, as Docker
    /// does for its insecure registries.
    pub insecure_registries: Vec<String>,
    /// PEM files of extra CA certificates to trust, besides the system's (which
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR` replace when set).
    pub ca_files: Vec<PathBuf>,
    /// Tries per request on connection errors, 5xx and 429 (at least 1).
    pub max_tries: u32,
    /// The wait before the second try; it doubles before each further try.
    pub initial_backoff: Duration,
    pub connect_timeout: Duration,
    /// The longest wait for any one read or write on a connection.
    pub io_timeout: Duration,
    /// The deadline of each request and the minimum rate of each transfer.
    pub limits: TransferLimits,
}

impl Default for ClientOptions {
    fn default() -> ClientOptions {
        ClientOptions {
            insecure_registries: Vec::new(),
            ca_files: Vec::new(),
            max_tries: 4,
            initial_backoff: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(120),
            limits: TransferLimits::default(),
        }
    }
}

/// A client of the OCI distribution API. Cheap to share by reference across threads.
pub struct RegistryClient {
    pub(crate) options: ClientOptions,
    pub(crate) verified: ureq::Agent,
    pub(crate) unverified: ureq::Agent,
    credentials: HashMap<String, Credentials>,
    /// `https` or `http`, once found, for each insecure registry.
    pub(crate) schemes: Mutex<HashMap<String, &'static str>>,
}

impl RegistryClient {
    /// A client with `options`; fails only when a CA file cannot be used.
    pub fn new(options: ClientOptions) -> Result<RegistryClient, RegistryError> {
        let verified = agent(&options, tls::verified_config(&options.ca_files)?);
        let unverified = agent(&options, tls::unverified_config()?);
        Ok(RegistryClient {
            options,
            verified,
            unverified,
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

fn agent(options: &ClientOptions, tls: Arc<rustls::ClientConfig>) -> ureq::Agent {
    ureq::AgentBuilder::new()
        .tls_config(tls)
        .timeout_connect(options.connect_timeout)
        .timeout_read(options.io_timeout)
        .timeout_write(options.io_timeout)
        .user_agent(concat!("makes/", env!("CARGO_PKG_VERSION")))
        .redirects(5)
        .build()
}
