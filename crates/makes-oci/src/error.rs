//! The one error type of the image builder.
//!
//! Every variant names what it is about (a host path, a store path, a digest, a field of the
//! image spec), so a message read on its own says where to look.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

/// Anything that can go wrong while planning, writing or packing an image.
#[derive(Debug, Error, Diagnostic)]
pub enum OciError {
    /// A file-system operation failed.
    #[error("cannot write the Nix database {path}: {source}")]
    #[diagnostic(code(makes::oci::nix_database))]
    NixDatabase {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("I/O error on {path}: {source}")]
    #[diagnostic(code(makes::oci::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A timestamp of the spec (`created`, `mtime`) is not the ISO-8601 form dockerTools takes.
    #[error("invalid {field} timestamp {value:?}: {reason}")]
    #[diagnostic(
        code(makes::oci::invalid_timestamp),
        help("use the form YYYY-MM-DDTHH:MM:SSZ (an offset like +01:00 is fine too), or \"now\"")
    )]
    InvalidTimestamp {
        field: &'static str,
        value: String,
        reason: &'static str,
    },

    /// `maxLayers` leaves no room for the customisation layer.
    #[error("maxLayers must be greater than 1, found {max_layers}")]
    #[diagnostic(code(makes::oci::too_few_layers))]
    TooFewLayers { max_layers: u32 },

    /// A store path the image needs is not in the closure it was given.
    #[error("{role} {path} is not in the image closure")]
    #[diagnostic(
        code(makes::oci::missing_from_closure),
        help("the closure passed to the image builder must hold contents, config references and everything they refer to")
    )]
    MissingFromClosure { role: &'static str, path: String },

    /// A `layeringPipeline` step cannot run on what it is given (where nixpkgs' layering
    /// program would fail too), or the graph it runs on has a cycle.
    #[error("layeringPipeline, {at}: {problem}")]
    #[diagnostic(
        code(makes::oci::layering_pipeline),
        help("each step takes what the step before gives: popularity_contest, split_every, remove_paths, subcomponent_in/out and split_paths a graph; limit_layers, reverse and map a list; over the named results of a split")
    )]
    LayeringPipeline { at: String, problem: String },

    /// A content path (`contents`/`layers`) is not a directory, so it cannot be joined into `/`.
    #[error("content {path} is not a directory and cannot be joined into the image root")]
    #[diagnostic(code(makes::oci::content_not_directory))]
    ContentNotDirectory { path: String },

    /// `extraCommands` exited unsuccessfully.
    #[error("extraCommands failed ({status}) in {cwd}:\n{stderr_tail}")]
    #[diagnostic(code(makes::oci::extra_commands_failed))]
    ExtraCommandsFailed {
        status: String,
        cwd: PathBuf,
        stderr_tail: String,
    },

    /// `runAsRoot` or `fakeRootCommands` could not be started.
    #[error("cannot run {what}: {reason}")]
    #[diagnostic(
        code(makes::oci::root_script_unavailable),
        help("root scripts run in user, mount and network namespaces: they need unprivileged user namespaces (or makes running as root)")
    )]
    RootScriptUnavailable { what: &'static str, reason: String },

    /// `runAsRoot` or `fakeRootCommands` exited unsuccessfully.
    #[error("{what} failed ({status}):\n{stderr_tail}")]
    #[diagnostic(code(makes::oci::root_script_failed))]
    RootScriptFailed {
        what: &'static str,
        status: String,
        stderr_tail: String,
    },

    /// A `fromImage` that cannot be read as an image.
    #[error("the base image {path} cannot be used: {reason}")]
    #[diagnostic(code(makes::oci::invalid_base_image))]
    InvalidBaseImage { path: PathBuf, reason: String },

    /// A digest or platform of the OCI model that does not parse.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Model(makes_oci_model::OciModelError),

    /// A layer of a `fromImage` holds an entry that cannot be unpacked inside the image root.
    #[error("the base image {path} cannot be used: layer {layer}, entry {entry:?}: {reason}")]
    #[diagnostic(code(makes::oci::invalid_base_layer))]
    InvalidBaseLayer {
        path: PathBuf,
        layer: String,
        entry: String,
        reason: String,
    },

    /// A layer (or metadata blob) of a local `fromImage` is not what its manifest or config
    /// says it is.
    #[error(
        "the base image {path} cannot be used: {blob} has {field} {found}, expected {expected}"
    )]
    #[diagnostic(
        code(makes::oci::base_image_mismatch),
        help("the archive was altered or written wrongly; export the image again")
    )]
    BaseImageMismatch {
        path: PathBuf,
        /// What the blob is and its name (`layer blobs/sha256/...`).
        blob: String,
        field: &'static str,
        expected: String,
        found: String,
    },

    /// Only regular files, directories and symlinks go into a layer.
    #[error(
        "unsupported file type at {path} (only files, directories and symlinks go into a layer)"
    )]
    #[diagnostic(code(makes::oci::unsupported_file_type))]
    UnsupportedFileType { path: PathBuf },

    /// A file changed size between listing it and writing it into a layer.
    #[error("file {path} changed while it was written into a layer: expected {expected} bytes, found {found}")]
    #[diagnostic(code(makes::oci::file_changed))]
    FileChanged {
        path: PathBuf,
        expected: u64,
        found: u64,
    },

    /// Two entries of one layer have the same archive path.
    #[error("duplicate entry {path:?} in a layer")]
    #[diagnostic(code(makes::oci::duplicate_entry))]
    DuplicateEntry { path: String },

    /// An archive path is absolute, empty, or has `.`/`..` components.
    #[error("invalid archive path {path:?}")]
    #[diagnostic(code(makes::oci::invalid_archive_path))]
    InvalidArchivePath { path: String },

    /// A blob's content does not hash to the digest it is stored under.
    #[error("blob {path} has digest {found}, expected {expected}")]
    #[diagnostic(code(makes::oci::digest_mismatch))]
    DigestMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    /// An image archive is not what `build_image` writes (found by `fsck_archive`).
    #[error("invalid image archive {path}: {reason}")]
    #[diagnostic(code(makes::oci::invalid_archive))]
    InvalidArchive { path: PathBuf, reason: String },

    /// A path a script of the image uses (`extraCommands`, `runAsRoot`, ...) is not built.
    #[error("{path}, used by a script of the image, is not built")]
    #[diagnostic(
        code(makes::oci::script_input_not_built),
        help("list it in contents (or config) so that it is built first")
    )]
    ScriptInputNotBuilt { path: makes_store::StorePath },

    /// A store path the image names (its `fromImage`) is not a store path.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] makes_store::StoreError),

    /// Serialising image metadata failed.
    #[error("cannot serialise the image {what}: {source}")]
    #[diagnostic(code(makes::oci::json))]
    Json {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

impl OciError {
    /// Wraps an I/O error with the path it is about.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> OciError {
        let path = path.into();
        move |source| OciError::Io { path, source }
    }
}
