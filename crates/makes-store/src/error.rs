//! The one error type of the store crate.
//!
//! Every variant names the path (store path or host path) it is about, so a message read on
//! its own says where to look.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

use crate::path::StorePath;

/// Anything that can go wrong in the store: naming, hashing, adding, building.
#[derive(Debug, Error, Diagnostic)]
pub enum StoreError {
    /// A file-system operation failed.
    #[error("I/O error on {path}: {source}")]
    #[diagnostic(code(makes::store::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A string that is not a store path, a name Nix refuses, or text that is not nix-base32.
    #[error(transparent)]
    #[diagnostic(transparent)]
    StorePath(#[from] makes_store_path::StorePathError),

    /// The store has no valid record of this path.
    #[error("store path {path} is not valid in the store")]
    #[diagnostic(
        code(makes::store::path_not_valid),
        help("it was never added or built, or its build was interrupted")
    )]
    PathNotValid { path: StorePath },

    /// An image spec could not be serialised to compute its output path.
    #[error("cannot serialise the spec of the image {name:?} to address it: {source}")]
    #[diagnostic(code(makes::store::spec_json))]
    SpecJson {
        name: String,
        #[source]
        source: serde_json::Error,
    },

    /// The record of a valid path could not be read back.
    #[error("corrupt store record {path}: {source}")]
    #[diagnostic(code(makes::store::corrupt_record))]
    CorruptRecord {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// Only regular files, directories and symlinks can go into the store.
    #[error("unsupported file type at {path} (only files, directories and symlinks)")]
    #[diagnostic(code(makes::store::unsupported_file_type))]
    UnsupportedFileType { path: PathBuf },

    /// A host path changed while it was being copied into the store.
    #[error("{path} changed while it was being added to the store")]
    #[diagnostic(code(makes::store::source_changed))]
    SourceChanged { path: PathBuf },

    /// A build finished without creating its output.
    #[error("the build of {path} did not create its output")]
    #[diagnostic(
        code(makes::store::output_not_created),
        help("the builder must create $out")
    )]
    OutputNotCreated { path: StorePath },

    /// A derivation input is not valid in the store.
    #[error("input {path} of {output} is not valid in the store")]
    #[diagnostic(code(makes::store::input_not_valid))]
    InputNotValid { path: StorePath, output: StorePath },

    /// The builder script failed.
    #[error("builder for {path} failed ({status}); last lines of {}:\n{tail}", log.display())]
    #[diagnostic(code(makes::store::builder_failed))]
    BuilderFailed {
        path: StorePath,
        status: String,
        log: PathBuf,
        tail: String,
    },

    /// The builder printed more than the build log may hold; it was stopped.
    #[error("builder for {path} stopped: log limit exceeded ({limit} bytes); the log so far is {}", log.display())]
    #[diagnostic(
        code(makes::store::log_limit_exceeded),
        help("a build prints at most MAKES_MAX_BUILD_LOG_SIZE bytes (64M unless set)")
    )]
    LogLimitExceeded {
        path: StorePath,
        limit: u64,
        log: PathBuf,
    },

    /// A fixed-output derivation has a `sha256` that is not a SHA-256 in a known form.
    #[error("invalid sha256 {hash:?} for {path}")]
    #[diagnostic(
        code(makes::store::invalid_hash),
        help("use 64 hex digits, 52 nix-base32 characters, or sha256-<base64>")
    )]
    InvalidHash { path: StorePath, hash: String },

    /// A fixed-output derivation produced something else than announced.
    #[error("hash mismatch in fixed-output {path}: expected {expected}, got {found}")]
    #[diagnostic(code(makes::store::hash_mismatch))]
    HashMismatch {
        path: StorePath,
        expected: String,
        found: String,
    },

    /// A fixed output that could not be checked against its hash.
    #[error("the fixed output {path} could not be checked")]
    #[diagnostic(code(makes::store::output_unchecked))]
    OutputUnchecked {
        path: StorePath,
        #[source]
        #[diagnostic_source]
        source: crate::PluginError,
    },

    /// The build sandbox (namespaces, mounts) could not be set up.
    #[error("cannot set up the build sandbox for {path}: {reason}")]
    #[diagnostic(
        code(makes::store::sandbox_unavailable),
        help("builds need Linux user and mount namespaces (unprivileged user namespaces enabled, or run as root)")
    )]
    SandboxUnavailable { path: StorePath, reason: String },

    /// `makes.lock.json` cannot be read.
    #[error("cannot read the lock file {path}: {message}")]
    #[diagnostic(code(makes::store::lock_file))]
    LockFile { path: PathBuf, message: String },

    /// A string of `makes.lock.json` that must be a store path is not one.
    #[error("cannot read the lock file {path}: {entry} is not a store path")]
    #[diagnostic(
        code(makes::store::lock_file_store_path),
        help("the lock file was edited by hand or damaged: run `makes lock` again")
    )]
    LockFileStorePath {
        path: PathBuf,
        /// Where in the file: `paths["..."].references[1]`, `packages[0].outputs.out`.
        entry: String,
        #[source]
        #[diagnostic_source]
        source: makes_store_path::StorePathError,
    },

    /// A path the closures of the locked packages need is not in the lock file.
    #[error("makes.lock.json lacks {path}, which a locked package needs")]
    #[diagnostic(
        code(makes::store::lock_incomplete),
        help("run `makes lock` again (for every job, if only some were locked)")
    )]
    LockIncomplete { path: StorePath },

    /// Nix, asked for packages, failed.
    #[error("{message}")]
    #[diagnostic(code(makes::packages::nix))]
    Nix { message: String },

    /// A NAR does not follow the format, or breaks one of the rules a restored tree must obey.
    #[error("invalid NAR at {entry}: {reason}")]
    #[diagnostic(code(makes::store::invalid_nar))]
    InvalidNar { entry: String, reason: String },

    /// The stream a NAR was read from failed (network, decompression).
    #[error("cannot read the NAR: {source}")]
    #[diagnostic(code(makes::store::nar_stream))]
    NarStream {
        #[source]
        source: std::io::Error,
    },

    /// A NAR's SHA-256 or size is not the expected one.
    #[error("the NAR of {path} is not the expected one: expected {expected}, got {found}")]
    #[diagnostic(code(makes::store::nar_mismatch))]
    NarMismatch {
        path: StorePath,
        expected: String,
        found: String,
    },

    /// A path would be registered before one of its references.
    #[error("reference {reference} of {path} is not valid in the store")]
    #[diagnostic(
        code(makes::store::reference_not_valid),
        help("paths are added after their references")
    )]
    ReferenceNotValid {
        path: StorePath,
        reference: StorePath,
    },
}

/// Shorthand for the store's results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Wraps an `io::Error` with the path it is about.
pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io { path, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_error_names_its_path() {
        let err = io_err("/x/y")(std::io::Error::other("boom"));
        assert_eq!(err.to_string(), "I/O error on /x/y: boom");
    }
}
