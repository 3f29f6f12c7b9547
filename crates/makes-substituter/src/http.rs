//! GET requests to binary caches: one `ureq` agent with the registry client's TLS
//! configuration (system roots plus extra CA files), and retries with exponential backoff on
//! connection errors, 5xx and 429, never on other statuses. Every body is held to the
//! request's deadline and the minimum transfer rate ([`TransferLimits`]), and so are the
//! status line and headers ([`call_within`]).

use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use makes_registry::{call_within, LimitedRead, Payload, TransferLimits};

use crate::error::SubstituteError;

/// How long a connection may take to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest wait for any one read or write.
const IO_TIMEOUT: Duration = Duration::from_secs(120);

pub(crate) struct Http {
    agent: ureq::Agent,
    retries: u32,
    initial_backoff: Duration,
    limits: TransferLimits,
}

/// A successful answer, or the statuses that mean "this cache does not have it".
pub(crate) enum Fetched {
    Body(Box<dyn Read + Send + Sync>),
    Missing(u16),
}

/// Why a GET failed after its retries.
pub(crate) enum Failure {
    Unreachable(String),
    Status(u16),
}

impl Http {
    pub(crate) fn new(
        ca_files: &[PathBuf],
        retries: u32,
        initial_backoff: Duration,
        limits: TransferLimits,
    ) -> Result<Http, SubstituteError> {
        let tls = makes_registry::verified_config(ca_files).map_err(|e| SubstituteError::Tls {
            reason: e.to_string(),
        })?;
        let agent = ureq::AgentBuilder::new()
            .tls_config(tls)
            .timeout_connect(CONNECT_TIMEOUT)
            .timeout_read(IO_TIMEOUT)
            .timeout_write(IO_TIMEOUT)
            .user_agent(concat!("makes/", env!("CARGO_PKG_VERSION")))
            .redirects(5)
            .build();
        Ok(Http {
            agent,
            retries,
            initial_backoff,
            limits,
        })
    }

    /// GETs `url`, retrying transient failures; `on_retry(attempt, delay, reason)` is told
    /// before each wait.
    pub(crate) fn get(
        &self,
        url: &str,
        on_retry: &dyn Fn(u32, Duration, &str),
    ) -> Result<Fetched, Failure> {
        let mut attempt = 0;
        loop {
            let sent = Instant::now();
            let request = self.agent.get(url);
            let answer = match call_within(self.limits, sent, request, Payload::Empty) {
                Ok(answer) => answer,
                // Trying again would only wait as long again.
                Err(limit) => return Err(Failure::Unreachable(limit.to_string())),
            };
            let failure = match answer {
                Ok(response) => {
                    let body = LimitedRead::started_at(response.into_reader(), self.limits, sent);
                    return Ok(Fetched::Body(Box::new(body)));
                }
                Err(ureq::Error::Status(status @ (403 | 404 | 410), _)) => {
                    return Ok(Fetched::Missing(status))
                }
                Err(ureq::Error::Status(status, _)) => {
                    if status < 500 && status != 429 {
                        return Err(Failure::Status(status));
                    }
                    Failure::Status(status)
                }
                Err(ureq::Error::Transport(transport)) => {
                    use ureq::ErrorKind::*;
                    let reason = describe(&transport);
                    match transport.kind() {
                        Dns | ConnectionFailed | Io | BadStatus | BadHeader | ProxyConnect => {
                            Failure::Unreachable(reason)
                        }
                        _ => return Err(Failure::Unreachable(reason)),
                    }
                }
            };
            if attempt >= self.retries {
                return Err(failure);
            }
            let delay = self.initial_backoff.saturating_mul(1 << attempt.min(16));
            attempt += 1;
            let reason = match &failure {
                Failure::Unreachable(reason) => reason.clone(),
                Failure::Status(status) => format!("HTTP {status}"),
            };
            on_retry(attempt, delay, &reason);
            std::thread::sleep(delay);
        }
    }
}

/// A transport error without its URL (the caller's message names it already), made
/// printable: a bad status line from the server is quoted in it.
fn describe(transport: &ureq::Transport) -> String {
    makes_registry::printable(&raw_describe(transport), makes_registry::MAX_SERVER_TEXT)
}

fn raw_describe(transport: &ureq::Transport) -> String {
    let mut text = transport.kind().to_string();
    if let Some(message) = transport.message() {
        text.push_str(": ");
        text.push_str(message);
    }
    if let Some(source) = std::error::Error::source(transport) {
        text.push_str(": ");
        text.push_str(&source.to_string());
    }
    text
}
