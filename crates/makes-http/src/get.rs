//! GET with retries, for the binary caches and the URL fetchers: the status line and headers
//! are held to the request's deadline ([`crate::call_within`]) and the body to the deadline
//! and the minimum rate ([`crate::LimitedRead`]); connection errors, 5xx and 429 are tried
//! again with backoff ([`crate::RetryPolicy`]), other statuses never.

use std::io::Read;
use std::time::Instant;

use url::Url;

use crate::client::{HttpClient, Trust};
use crate::deadline::{call_within, Payload};
use crate::error::HttpError;
use crate::limits::LimitedRead;
use crate::retry::{Attempt, RetryNotice};
use crate::transport::{is_transient, transport_reason};

/// A successful answer's body, or one of the statuses that mean "this server does not have
/// it" (403, 404, 410), which a caller with several servers to ask takes as a cue to ask the
/// next.
pub enum Fetched {
    Body(Box<dyn Read + Send + Sync>),
    Missing(u16),
}

impl HttpClient {
    /// GETs `url` (verified TLS), retrying transient failures; `on_retry` hears of each failed
    /// try, with a short reason (`HTTP 503`, `Connection Failed: ...`), before the wait.
    pub fn get(
        &self,
        url: &str,
        on_retry: &dyn Fn(&RetryNotice, &str),
    ) -> Result<Fetched, HttpError> {
        let parsed = Url::parse(url).map_err(|e| HttpError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(HttpError::InvalidUrl {
                url: url.to_owned(),
                reason: "only http:// and https:// URLs are fetched over the network".into(),
            });
        }
        let limits = self.limits();
        let attempt = || -> Result<Fetched, Attempt<HttpError>> {
            let sent = Instant::now();
            let request = self.request("GET", &parsed, Trust::Verified);
            let answer = call_within(limits, sent, request, Payload::Empty).map_err(|limit| {
                // Trying again would only wait as long again.
                Attempt::Fatal(HttpError::Stalled {
                    url: url.to_owned(),
                    limit,
                })
            })?;
            match answer {
                Ok(response) => {
                    let body = LimitedRead::started_at(response.into_reader(), limits, sent);
                    Ok(Fetched::Body(Box::new(body)))
                }
                Err(ureq::Error::Status(status @ (403 | 404 | 410), _)) => {
                    Ok(Fetched::Missing(status))
                }
                Err(ureq::Error::Status(status, _)) => {
                    let error = HttpError::Status {
                        url: url.to_owned(),
                        status,
                        tries: 1,
                    };
                    if status >= 500 || status == 429 {
                        Err(Attempt::Retry(error))
                    } else {
                        Err(Attempt::Fatal(error))
                    }
                }
                Err(ureq::Error::Transport(transport)) => {
                    let error = HttpError::Unreachable {
                        url: url.to_owned(),
                        tries: 1,
                        reason: transport_reason(&transport),
                    };
                    if is_transient(&transport) {
                        Err(Attempt::Retry(error))
                    } else {
                        Err(Attempt::Fatal(error))
                    }
                }
            }
        };
        self.retry_policy()
            .run(attempt, |notice, error| {
                on_retry(notice, &short_reason(error))
            })
            .map_err(|exhausted| with_tries(exhausted.error, exhausted.tries))
    }
}

/// What a failed try was, without the URL.
fn short_reason(error: &HttpError) -> String {
    match error {
        HttpError::Status { status, .. } => format!("HTTP {status}"),
        HttpError::Unreachable { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

fn with_tries(mut error: HttpError, n: u32) -> HttpError {
    if let HttpError::Unreachable { tries, .. } | HttpError::Status { tries, .. } = &mut error {
        *tries = n;
    }
    error
}
