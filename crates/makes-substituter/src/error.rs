//! The one error type of the substituter.
//!
//! Every variant about a path names the store path and the cache (base URL) it is about, so a
//! message read on its own says what was being fetched from where.

use makes_store::{StoreError, StorePath, StorePathError};
use miette::Diagnostic;
use thiserror::Error;

/// Why the text of a narinfo file is not one (the cause of
/// [`SubstituteError::InvalidNarInfo`], which names the file's URL): the line or field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
pub enum NarInfoError {
    #[error("line {line:?} is not `Key: value`")]
    #[diagnostic(code(makes::substitute::narinfo_line))]
    NotKeyValue { line: String },

    #[error("{key} {value:?} is not a number")]
    #[diagnostic(code(makes::substitute::narinfo_number))]
    NotANumber { key: String, value: String },

    #[error("StorePath {value:?}: {source}")]
    #[diagnostic(code(makes::substitute::narinfo_store_path))]
    InvalidStorePath {
        value: String,
        #[source]
        source: StorePathError,
    },

    #[error("reference {base:?}: {source}")]
    #[diagnostic(code(makes::substitute::narinfo_reference))]
    InvalidReference {
        base: String,
        #[source]
        source: StorePathError,
    },

    #[error("NarHash {value:?} is not a SHA-256")]
    #[diagnostic(code(makes::substitute::narinfo_hash))]
    NotSha256 { value: String },

    #[error("no {key} line")]
    #[diagnostic(code(makes::substitute::narinfo_missing))]
    Missing { key: &'static str },

    #[error("the URL is empty")]
    #[diagnostic(code(makes::substitute::narinfo_empty_url))]
    EmptyUrl,
}

/// Anything that can go wrong while substituting paths from binary caches.
#[derive(Debug, Error, Diagnostic)]
pub enum SubstituteError {
    /// A trusted public key is not `name:base64` of 32 bytes.
    #[error("invalid trusted public key {key:?}: {reason}")]
    #[diagnostic(
        code(makes::substitute::invalid_key),
        help("keys look like cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=")
    )]
    InvalidKey { key: String, reason: String },

    /// A cache URL is not an `http://` or `https://` URL.
    #[error("invalid binary cache URL {cache:?}: {reason}")]
    #[diagnostic(code(makes::substitute::invalid_cache_url))]
    InvalidCacheUrl { cache: String, reason: String },

    /// The HTTP client could not be set up (a CA file, a proxy variable).
    #[error("cannot reach binary caches: {0}")]
    #[diagnostic(code(makes::substitute::http_setup))]
    HttpSetup(#[from] makes_http::HttpError),

    /// The lock is not closed: a path refers to one that is neither valid nor wanted.
    #[error(
        "reference {reference} of {path} is neither in the store nor among the paths to substitute"
    )]
    #[diagnostic(
        code(makes::substitute::missing_reference),
        help("the lock must list the whole closure")
    )]
    MissingReference {
        path: StorePath,
        reference: StorePath,
    },

    /// The references of the wanted paths form a cycle (other than a path referring to
    /// itself), which no store closure can.
    #[error("the references of {path} lead back to it through other paths")]
    #[diagnostic(code(makes::substitute::reference_cycle))]
    ReferenceCycle { path: StorePath },

    /// No cache has the path (every one answered 404, 403 or 410 for its narinfo).
    #[error("{path} is in none of the binary caches: {}", if caches.is_empty() { "no cache configured".to_owned() } else { caches.join(", ") })]
    #[diagnostic(code(makes::substitute::not_found))]
    NotFound {
        path: StorePath,
        caches: Vec<String>,
    },

    /// A cache could not be reached (connection refused, DNS, TLS, timeout), after retries.
    #[error("cannot reach binary cache {cache} for {path}: {url}: {reason}")]
    #[diagnostic(code(makes::substitute::unreachable))]
    Unreachable {
        path: StorePath,
        cache: String,
        url: String,
        reason: String,
    },

    /// A cache answered with an unexpected HTTP status (after retries for 5xx).
    #[error("binary cache {cache} answered {status} for {url} (fetching {path})")]
    #[diagnostic(code(makes::substitute::http_status))]
    HttpStatus {
        path: StorePath,
        cache: String,
        url: String,
        status: u16,
    },

    /// A narinfo file is not well-formed.
    #[error("invalid narinfo for {path} from {cache} ({url}): {source}")]
    #[diagnostic(code(makes::substitute::invalid_narinfo))]
    InvalidNarInfo {
        path: StorePath,
        cache: String,
        url: String,
        #[source]
        source: Box<NarInfoError>,
    },

    /// A narinfo disagrees with the lock (or names another path).
    #[error("the narinfo of {path} from {cache} does not match the lock: {field} is {found}, the lock says {expected}")]
    #[diagnostic(
        code(makes::substitute::narinfo_mismatch),
        help("the cache holds other contents for this path than when the lock was made")
    )]
    NarInfoMismatch {
        path: StorePath,
        cache: String,
        field: NarInfoField,
        expected: String,
        found: String,
    },

    /// No signature of the narinfo is by a trusted key.
    #[error("{path} from {cache} is signed by an untrusted key ({})", if keys.is_empty() { "it has no signature at all".to_owned() } else { keys.join(", ") })]
    #[diagnostic(
        code(makes::substitute::untrusted_key),
        help("add the cache's public key to the trusted keys if you trust it")
    )]
    UntrustedKey {
        path: StorePath,
        cache: String,
        keys: Vec<String>,
    },

    /// A signature by a trusted key name does not verify.
    #[error("the signature of {path} from {cache} by {key} does not verify")]
    #[diagnostic(
        code(makes::substitute::bad_signature),
        help("the narinfo was altered, or signed by another key under the same name")
    )]
    BadSignature {
        path: StorePath,
        cache: String,
        key: String,
    },

    /// The narinfo announces a compression makes cannot decode.
    #[error("{path} from {cache} is compressed with {compression:?}, which is not supported (xz, zstd, bzip2, none)")]
    #[diagnostic(code(makes::substitute::unsupported_compression))]
    UnsupportedCompression {
        path: StorePath,
        cache: String,
        compression: String,
    },

    /// The download or the decompression of a NAR failed midway.
    #[error("cannot download {path} from {cache}: {url}: {reason}")]
    #[diagnostic(code(makes::substitute::download))]
    Download {
        path: StorePath,
        cache: String,
        url: String,
        reason: String,
    },

    /// The downloaded NAR is not the one the lock and the narinfo announce.
    #[error("the NAR of {path} from {cache} does not match: expected {expected}, got {found}")]
    #[diagnostic(
        code(makes::substitute::nar_mismatch),
        help("the file in the cache is corrupt or was altered")
    )]
    NarMismatch {
        path: StorePath,
        cache: String,
        expected: String,
        found: String,
    },

    /// The downloaded NAR is not a valid NAR.
    #[error("the NAR of {path} from {cache} is invalid: {source}")]
    #[diagnostic(code(makes::substitute::invalid_nar))]
    InvalidNar {
        path: StorePath,
        cache: String,
        #[source]
        source: Box<StoreError>,
    },

    /// The store failed while unpacking or registering a path.
    #[error("cannot add {path} (from {cache}) to the store: {source}")]
    #[diagnostic(code(makes::substitute::store))]
    Store {
        path: StorePath,
        cache: String,
        #[source]
        source: Box<StoreError>,
    },
}

/// The narinfo fields checked against the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NarInfoField {
    StorePath,
    NarHash,
    NarSize,
    References,
}

impl std::fmt::Display for NarInfoField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NarInfoField::StorePath => "StorePath",
            NarInfoField::NarHash => "NarHash",
            NarInfoField::NarSize => "NarSize",
            NarInfoField::References => "References",
        })
    }
}

impl SubstituteError {
    /// The store path the error is about, if any.
    pub fn store_path(&self) -> Option<&StorePath> {
        use SubstituteError::*;
        match self {
            InvalidKey { .. } | InvalidCacheUrl { .. } | HttpSetup(_) => None,
            MissingReference { path, .. }
            | ReferenceCycle { path }
            | NotFound { path, .. }
            | Unreachable { path, .. }
            | HttpStatus { path, .. }
            | InvalidNarInfo { path, .. }
            | NarInfoMismatch { path, .. }
            | UntrustedKey { path, .. }
            | BadSignature { path, .. }
            | UnsupportedCompression { path, .. }
            | Download { path, .. }
            | NarMismatch { path, .. }
            | InvalidNar { path, .. }
            | Store { path, .. } => Some(path),
        }
    }
}
