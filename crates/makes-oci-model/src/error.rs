//! The one error type of the OCI model: a digest or platform that does not parse, or image
//! files that cannot be read, each naming what it is about.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

#[derive(Debug, Error, Diagnostic)]
pub enum OciModelError {
    /// A digest that is not `sha256:` and 64 lowercase hex digits.
    #[error("invalid digest {input:?}: {reason}")]
    #[diagnostic(code(makes::oci::invalid_digest))]
    InvalidDigest { input: String, reason: String },

    /// A platform that is not `os/arch[/variant]`.
    #[error("invalid platform {input:?}: expected OS/ARCH[/VARIANT], e.g. linux/amd64")]
    #[diagnostic(code(makes::oci::invalid_platform))]
    InvalidPlatform { input: String },

    /// Image files (a layout directory or an archive) that are not what an image is made of.
    #[error("{path}: {reason}")]
    #[diagnostic(code(makes::oci::invalid_image_files))]
    InvalidImageFiles { path: PathBuf, reason: String },

    /// A file-system operation failed.
    #[error("I/O error on {path}: {source}")]
    #[diagnostic(code(makes::oci::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl OciModelError {
    /// A closure for `map_err` that wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> OciModelError {
        let path = path.into();
        move |source| OciModelError::Io { path, source }
    }
}
