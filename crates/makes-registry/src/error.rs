//! The one error type of the registry client.
//!
//! Every variant that comes from a registry names the registry, the repository and the
//! reference (tag or digest) it was about, so a message read on its own says where to look.
//! No variant ever holds a credential: the client keeps user names, passwords and tokens out of
//! URLs and messages, and a registry's own error text is quoted only from its JSON `errors`.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

/// Anything that can go wrong while talking to a registry or reading and writing image blobs.
#[derive(Debug, Error, Diagnostic)]
pub enum RegistryError {
    /// An image reference that is not `[registry/]name[:tag][@digest]`.
    #[error("invalid image reference {input:?}: {reason}")]
    #[diagnostic(
        code(makes::registry::invalid_reference),
        help("write it as [REGISTRY/]NAME[:TAG][@sha256:HEX], e.g. ghcr.io/org/app:1.0")
    )]
    InvalidReference { input: String, reason: String },

    /// A digest that is not `sha256:` and 64 lowercase hex digits.
    #[error("invalid digest {input:?}: {reason}")]
    #[diagnostic(code(makes::registry::invalid_digest))]
    InvalidDigest { input: String, reason: String },

    /// A platform that is not `os/arch[/variant]`.
    #[error("invalid platform {input:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64")]
    #[diagnostic(code(makes::registry::invalid_platform))]
    InvalidPlatform { input: String },

    /// The registry wants credentials the client does not have, or refused the ones it had.
    #[error("{registry}: not authorized to access {}: {detail}", at(.repository, .reference))]
    #[diagnostic(
        code(makes::registry::unauthorized),
        help("check the user name and token given for {registry}")
    )]
    Unauthorized {
        registry: String,
        repository: String,
        reference: String,
        detail: String,
    },

    /// The registry knows who the client is and refuses the operation (HTTP 403).
    #[error("{registry}: access to {} denied: {detail}", at(.repository, .reference))]
    #[diagnostic(code(makes::registry::denied))]
    Denied {
        registry: String,
        repository: String,
        reference: String,
        detail: String,
    },

    /// The manifest, blob or repository does not exist (HTTP 404).
    #[error("{registry}: {what} {} not found: {detail}", at(.repository, .reference))]
    #[diagnostic(code(makes::registry::not_found))]
    NotFound {
        registry: String,
        repository: String,
        reference: String,
        what: String,
        detail: String,
    },

    /// The registry could not be reached, or the connection broke, on every try.
    #[error("{registry}: unreachable after {} ({operation}): {detail}", tries_text(*.tries))]
    #[diagnostic(code(makes::registry::unreachable))]
    Unreachable {
        registry: String,
        operation: String,
        tries: u32,
        detail: String,
    },

    /// The registry answered with a status the operation does not expect (after retries for
    /// 5xx and 429).
    #[error("{registry}: {operation} for {} failed with HTTP {status} after {}: {detail}", at(.repository, .reference), tries_text(*.tries))]
    #[diagnostic(code(makes::registry::http_status))]
    HttpStatus {
        registry: String,
        repository: String,
        reference: String,
        operation: String,
        status: u16,
        tries: u32,
        detail: String,
    },

    /// A transfer that crossed a limit: the deadline of its request, or the minimum rate.
    #[error("{registry}: {what} {} stopped: {detail}", at(.repository, .reference))]
    #[diagnostic(
        code(makes::registry::transfer_stalled),
        help("the registry sends too slowly or not at all; try again later, or raise the limits")
    )]
    TransferStalled {
        registry: String,
        repository: String,
        reference: String,
        what: String,
        detail: String,
    },

    /// Content whose sha256 is not the digest it was asked for or announced under.
    #[error("{what} {expected} of {repository}: content hashes to {found}, expected {expected}")]
    #[diagnostic(
        code(makes::registry::digest_mismatch),
        help("the registry served corrupted or different content; nothing was kept")
    )]
    DigestMismatch {
        what: String,
        repository: String,
        expected: String,
        found: String,
    },

    /// Content whose length is not the size its descriptor gives.
    #[error("{what} {digest} of {repository}: expected {expected} bytes, got {found}")]
    #[diagnostic(code(makes::registry::size_mismatch))]
    SizeMismatch {
        what: String,
        repository: String,
        digest: String,
        expected: u64,
        found: u64,
    },

    /// A manifest or index whose media type the client does not handle (e.g. Docker schema 1).
    #[error("{reference}: unsupported manifest media type {media_type:?}")]
    #[diagnostic(
        code(makes::registry::unsupported_media_type),
        help("OCI manifests and indexes and Docker schema 2 manifests and lists are supported")
    )]
    UnsupportedMediaType {
        reference: String,
        media_type: String,
    },

    /// An index or manifest list with no manifest for the wanted platform.
    #[error("{reference}: no manifest for platform {wanted}; the index has: {available}")]
    #[diagnostic(code(makes::registry::no_matching_platform))]
    NoMatchingPlatform {
        reference: String,
        wanted: String,
        available: String,
    },

    /// A manifest, index or config that is not what the OCI image spec describes.
    #[error("{reference}: invalid {what}: {reason}")]
    #[diagnostic(code(makes::registry::invalid_manifest))]
    InvalidManifest {
        reference: String,
        what: String,
        reason: String,
    },

    /// The local image to push (layout directory or archive) is missing something or malformed.
    #[error("invalid image source {path}: {reason}")]
    #[diagnostic(code(makes::registry::invalid_source))]
    InvalidSource { path: PathBuf, reason: String },

    /// The TLS handshake failed, typically on a certificate the client does not trust.
    #[error("{registry}: TLS handshake failed: {detail}")]
    #[diagnostic(
        code(makes::registry::tls_handshake),
        help("trust the registry's CA with a CA file (or SSL_CERT_FILE), or mark the registry insecure")
    )]
    TlsHandshake { registry: String, detail: String },

    /// The HTTP client could not be set up (a CA file that cannot be read or holds no
    /// certificate, a proxy variable that is not a proxy).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Http(#[from] makes_http::HttpError),

    /// A file-system operation failed.
    #[error("I/O error on {path}: {source}")]
    #[diagnostic(code(makes::registry::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The model's errors said as the registry client's, with the same messages.
impl From<makes_oci_model::OciModelError> for RegistryError {
    fn from(error: makes_oci_model::OciModelError) -> RegistryError {
        use makes_oci_model::OciModelError as Model;
        match error {
            Model::InvalidDigest { input, reason } => {
                RegistryError::InvalidDigest { input, reason }
            }
            Model::InvalidPlatform { input } => RegistryError::InvalidPlatform { input },
            Model::InvalidImageFiles { path, reason } => {
                RegistryError::InvalidSource { path, reason }
            }
            Model::Io { path, source } => RegistryError::Io { path, source },
        }
    }
}

/// `repo:tag` or `repo@sha256:...`.
fn at(repository: &str, reference: &str) -> String {
    if reference.starts_with("sha256:") {
        format!("{repository}@{reference}")
    } else {
        format!("{repository}:{reference}")
    }
}

fn tries_text(n: u32) -> String {
    if n == 1 {
        "1 try".into()
    } else {
        format!("{n} tries")
    }
}

impl RegistryError {
    /// A closure for `map_err` that wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RegistryError {
        let path = path.into();
        move |source| RegistryError::Io { path, source }
    }

    /// Records how many tries a retried operation took (for the variants that say so).
    pub(crate) fn with_tries(mut self, n: u32) -> RegistryError {
        match &mut self {
            RegistryError::Unreachable { tries, .. } | RegistryError::HttpStatus { tries, .. } => {
                *tries = n
            }
            _ => {}
        }
        self
    }
}
