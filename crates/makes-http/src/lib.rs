//! makes' one HTTP stack, used by the registry client, the binary-cache substituter and the
//! URL fetchers (`fetchUrl`, `fetchArchive`, Nix's `fetchurl`/`fetchTarball`):
//!
//! - [`HttpClient`]: the agents, made in one place: TLS with the system's roots (or
//!   `SSL_CERT_FILE`/`SSL_CERT_DIR`), Mozilla's when the system has none, extra CA files, and
//!   unverified TLS only for the hosts a caller marks insecure ([`Trust`]); proxies from the
//!   environment ([`Proxies`]); timeouts and user agent.
//! - [`RetryPolicy`]: retries with exponential backoff of whole operations ([`Attempt`]),
//!   with a hook that hears of each retry ([`RetryNotice`]).
//! - [`TransferLimits`]: every request held to a deadline, its headers included
//!   ([`call_within`]), and every body to a minimum rate ([`LimitedRead`]).
//! - [`ProgressRead`]: the bytes of a transfer as they arrive, for progress displays.
//! - [`HttpClient::get`], [`fetch_url`], [`fetch_archive`], [`unpack_archive`],
//!   [`with_decompressed`]: GETs with all of the above, downloads into files and tarballs
//!   unpacked into directories.
//! - [`printable`]: text a server sent, made safe to put into a message.
//!
//! The crate knows nothing of registries, stores or the evaluator: it moves bytes and says
//! precisely what went wrong where ([`HttpError`], naming the URL). It prints nothing.

mod client;
mod deadline;
mod decompress;
mod error;
mod fetch;
mod get;
mod limits;
mod printable;
mod progress;
mod proxy;
mod retry;
mod tls;
mod transport;

pub use client::{HttpClient, HttpOptions, Trust};
pub use deadline::{call_within, Answer, Payload};
pub use decompress::{with_decompressed, Compression};
pub use error::HttpError;
pub use fetch::{fetch_archive, fetch_url, unpack_archive};
pub use get::Fetched;
pub use limits::{limit_exceeded, LimitExceeded, LimitedRead, TransferLimits};
pub use printable::{printable, MAX_SERVER_TEXT};
pub use progress::ProgressRead;
pub use proxy::Proxies;
pub use retry::{Attempt, Exhausted, RetryNotice, RetryPolicy, MAX_BACKOFF};
pub use transport::{
    is_tls_error, is_transient, limit_in_chain, transport_detail, transport_reason,
};
