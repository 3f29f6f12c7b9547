//! The one error type of the HTTP stack.
//!
//! Every variant about a transfer names the URL (or the host) it is about, so a message read
//! on its own says where makes was going; text a server sent is quoted only through
//! [`crate::printable`]. No variant holds a credential: proxy URLs are named by their variable.

use std::path::PathBuf;

use miette::Diagnostic;
use thiserror::Error;

use crate::limits::LimitExceeded;

/// Anything that can go wrong while setting up the client, sending a request, or reading or
/// unpacking what came back.
#[derive(Debug, Error, Diagnostic)]
pub enum HttpError {
    /// The TLS setup failed (a CA file that cannot be read or holds no certificate).
    #[error("TLS setup failed: {reason}")]
    #[diagnostic(code(makes::http::tls))]
    Tls { reason: String },

    /// A proxy variable (`HTTPS_PROXY`, ...) that is not a proxy URL makes can use.
    #[error("{variable} is not a proxy makes can use: {reason}")]
    #[diagnostic(
        code(makes::http::invalid_proxy),
        help("write it as http://[USER:PASSWORD@]HOST[:PORT], or unset it")
    )]
    InvalidProxy { variable: String, reason: String },

    /// A setting of the transfer limits that is not a number of the expected kind.
    #[error("{variable}={value:?}: {expected}")]
    #[diagnostic(code(makes::http::invalid_limit))]
    InvalidLimit {
        variable: String,
        value: String,
        expected: String,
    },

    /// A URL the client cannot fetch (not http:// or https://, or not a URL at all).
    #[error("{url} cannot be fetched: {reason}")]
    #[diagnostic(code(makes::http::invalid_url))]
    InvalidUrl { url: String, reason: String },

    /// The server could not be reached, or the connection broke, on every try.
    #[error("{url}: unreachable after {}: {reason}", tries_text(*.tries))]
    #[diagnostic(code(makes::http::unreachable))]
    Unreachable {
        url: String,
        tries: u32,
        reason: String,
    },

    /// The server answered with a status the request does not expect (after retries for 5xx
    /// and 429).
    #[error("{url}: the server answered HTTP {status} after {}", tries_text(*.tries))]
    #[diagnostic(code(makes::http::status))]
    Status {
        url: String,
        status: u16,
        tries: u32,
    },

    /// A transfer that crossed a limit: the deadline of its request, or the minimum rate.
    #[error("{url}: {limit}")]
    #[diagnostic(
        code(makes::http::transfer_stalled),
        help("the server sends too slowly or not at all; try again later, or raise MAKES_HTTP_TIMEOUT / MAKES_HTTP_MIN_RATE")
    )]
    Stalled { url: String, limit: LimitExceeded },

    /// The body broke off midway.
    #[error("{url}: download cut after {bytes} bytes: {source}")]
    #[diagnostic(code(makes::http::cut))]
    Cut {
        url: String,
        bytes: u64,
        #[source]
        source: std::io::Error,
    },

    /// A compressed stream that does not decode.
    #[error("corrupt {compression} stream: {reason}")]
    #[diagnostic(code(makes::http::corrupt_stream))]
    CorruptStream {
        compression: &'static str,
        reason: String,
    },

    /// An archive that cannot be unpacked as asked.
    #[error("cannot unpack {path}: {reason}")]
    #[diagnostic(code(makes::http::unpack))]
    Unpack { path: PathBuf, reason: String },

    /// A file-system operation failed.
    #[error("{path}: {source}")]
    #[diagnostic(code(makes::http::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn tries_text(n: u32) -> String {
    if n == 1 {
        "1 try".into()
    } else {
        format!("{n} tries")
    }
}

impl HttpError {
    /// A closure for `map_err` that wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> HttpError {
        let path = path.into();
        move |source| HttpError::Io { path, source }
    }

    /// The URL the error is about, if it is about one.
    pub fn failed_url(&self) -> Option<&str> {
        match self {
            HttpError::InvalidUrl { url, .. }
            | HttpError::Unreachable { url, .. }
            | HttpError::Status { url, .. }
            | HttpError::Stalled { url, .. }
            | HttpError::Cut { url, .. } => Some(url),
            _ => None,
        }
    }
}
