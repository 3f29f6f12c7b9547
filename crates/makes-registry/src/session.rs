//! One conversation with one repository of one registry: the URL scheme, the `Authorization`
//! header obtained from the registry's challenge, retries with backoff, and the mapping of
//! HTTP answers to [`RegistryError`]s that name the registry, repository and reference.
//!
//! A request is tried once by [`Session::send`]; [`Session::retry`] repeats a whole operation
//! (which may be several requests, as an upload is) on [`Failure::Retry`]: connection errors,
//! broken transfers, 5xx and 429.

use std::cell::{Cell, RefCell};
use std::io::Read;
use std::time::Instant;

use url::Url;

use crate::auth::{parse_www_authenticate, token_from_response};
use crate::client::RegistryClient;
use makes_http::{
    call_within, is_tls_error, is_transient, limit_exceeded, limit_in_chain, printable,
    transport_detail, Attempt, LimitedRead, Payload, TransferLimits, Trust, MAX_SERVER_TEXT,
};

use crate::error::RegistryError;

const MAX_ERROR_BODY: u64 = 64 << 10;
const MAX_TOKEN_BODY: u64 = 1 << 20;

/// How one try of an operation failed.
pub(crate) enum Failure {
    /// Worth another try (connection, truncated transfer, 5xx, 429).
    Retry(Box<RegistryError>),
    /// Final.
    Fatal(Box<RegistryError>),
}

impl Failure {
    pub(crate) fn retry(e: RegistryError) -> Failure {
        Failure::Retry(Box::new(e))
    }

    pub(crate) fn fatal(e: RegistryError) -> Failure {
        Failure::Fatal(Box::new(e))
    }
}

impl From<RegistryError> for Failure {
    fn from(e: RegistryError) -> Failure {
        Failure::fatal(e)
    }
}

/// The body of a request.
pub(crate) enum Body<'a> {
    Empty,
    Bytes(&'a [u8]),
    /// A streamed body of known length; it cannot be sent twice, so a 401 on it is retried by
    /// the enclosing operation rather than here.
    Stream(&'a mut dyn Read, u64),
}

/// The target of a request: a path under the registry's base URL, or a full URL (an upload
/// `Location`).
pub(crate) enum Target<'a> {
    Path(&'a str),
    Url(&'a Url),
}

pub(crate) struct Session<'c> {
    client: &'c RegistryClient,
    /// As named in references; the key for credentials and for the insecure list.
    pub registry: String,
    /// The API host (`registry-1.docker.io` for `docker.io`).
    host: String,
    pub repository: String,
    /// `pull` or `pull,push`.
    actions: &'static str,
    insecure: bool,
    authorization: RefCell<Option<String>>,
    /// When the latest request was sent: its deadline counts from there.
    last_sent: Cell<Instant>,
}

/// A response body held to the client's [`TransferLimits`].
pub(crate) type LimitedBody = LimitedRead<Box<dyn Read + Send + Sync + 'static>>;

impl<'c> Session<'c> {
    pub(crate) fn new(
        client: &'c RegistryClient,
        registry: &str,
        host: &str,
        repository: &str,
        actions: &'static str,
    ) -> Session<'c> {
        Session {
            client,
            registry: registry.to_string(),
            host: host.to_string(),
            repository: repository.to_string(),
            actions,
            insecure: client.is_insecure(registry),
            authorization: RefCell::new(None),
            last_sent: Cell::new(Instant::now()),
        }
    }

    pub(crate) fn limits(&self) -> TransferLimits {
        self.client.http.limits()
    }

    /// The body of the latest response, held to the deadline of its request and to the
    /// minimum rate.
    pub(crate) fn body(&self, response: ureq::Response) -> LimitedBody {
        LimitedRead::started_at(response.into_reader(), self.limits(), self.last_sent.get())
    }

    fn trust(&self) -> Trust {
        if self.insecure {
            Trust::Unverified
        } else {
            Trust::Verified
        }
    }

    /// A request of `method` to `url`, through the agent for this registry's trust.
    fn request(&self, method: &str, url: &Url) -> ureq::Request {
        self.client.http.request(method, url, self.trust())
    }

    /// Runs `op` under the client's retry policy while it fails with [`Failure::Retry`]; the
    /// error of the last try says how many tries there were.
    pub(crate) fn retry<T>(
        &self,
        mut op: impl FnMut() -> Result<T, Failure>,
    ) -> Result<T, RegistryError> {
        let mut fatal = false;
        let outcome = self.client.http.retry_policy().run(
            || match op() {
                Ok(v) => Ok(v),
                Err(Failure::Retry(e)) => Err(Attempt::Retry(e)),
                Err(Failure::Fatal(e)) => {
                    fatal = true;
                    Err(Attempt::Fatal(e))
                }
            },
            |_, _| {},
        );
        outcome.map_err(|exhausted| {
            if fatal {
                *exhausted.error
            } else {
                exhausted.error.with_tries(exhausted.tries)
            }
        })
    }

    /// `https://host` or, for an insecure registry that does not speak TLS, `http://host`.
    fn base(&self) -> Result<String, Failure> {
        if !self.insecure {
            return Ok(format!("https://{}", self.host));
        }
        let known = self
            .client
            .schemes
            .lock()
            .map(|m| m.get(&self.registry).copied())
            .unwrap_or(None);
        if let Some(scheme) = known {
            return Ok(format!("{scheme}://{}", self.host));
        }
        // Probe as Docker does for insecure registries: HTTPS (unverified) first, then HTTP.
        let mut last = None;
        for scheme in ["https", "http"] {
            let url = Url::parse(&format!("{scheme}://{}/v2/", self.host)).map_err(|e| {
                Failure::fatal(self.unreachable("GET /v2/", format!("invalid URL: {e}")))
            })?;
            let request = self.request("GET", &url);
            match self.call_within("GET /v2/", Instant::now(), request, Payload::Empty)? {
                Ok(_) | Err(ureq::Error::Status(..)) => {
                    if let Ok(mut m) = self.client.schemes.lock() {
                        m.insert(self.registry.clone(), scheme);
                    }
                    return Ok(format!("{scheme}://{}", self.host));
                }
                Err(ureq::Error::Transport(t)) => last = Some(t),
            }
        }
        let detail = last.map_or_else(String::new, |t| transport_detail(&t));
        Err(Failure::retry(self.unreachable("GET /v2/", detail)))
    }

    fn unreachable(&self, operation: &str, detail: String) -> RegistryError {
        RegistryError::Unreachable {
            registry: self.registry.clone(),
            operation: operation.to_string(),
            tries: 1,
            detail,
        }
    }

    /// Sends one request, authenticating when the registry answers 401 with a challenge.
    /// Returns the response for every status but 401, 429 and 5xx; the caller decides which
    /// statuses it expects and maps the others with [`Session::status_error`].
    pub(crate) fn send(
        &self,
        method: &str,
        target: Target<'_>,
        headers: &[(&str, &str)],
        mut body: Body<'_>,
        reference: &str,
    ) -> Result<ureq::Response, Failure> {
        let url = match target {
            Target::Path(path) => Url::parse(&format!("{}{path}", self.base()?)).map_err(|e| {
                Failure::fatal(self.unreachable(method, format!("invalid URL: {e}")))
            })?,
            Target::Url(u) => u.clone(),
        };
        let operation = format!("{method} {}", url.path());
        let mut authenticated = false;
        loop {
            let mut request = self.request(method, &url);
            for (k, v) in headers {
                request = request.set(k, v);
            }
            if self.same_host(&url) {
                if let Some(a) = self.authorization.borrow().as_deref() {
                    request = request.set("Authorization", a);
                }
            }
            let sent = Instant::now();
            self.last_sent.set(sent);
            let result = match &mut body {
                Body::Empty => self.call_within(&operation, sent, request, Payload::Empty)?,
                Body::Bytes(b) => {
                    self.call_within(&operation, sent, request, Payload::Bytes(b.to_vec()))?
                }
                // A borrowed source cannot go to another thread: ureq's own deadline (which
                // also bounds its socket reads) covers the upload and the answer's headers;
                // the answer to an upload is small.
                Body::Stream(r, len) => request
                    .timeout(self.limits().request_timeout)
                    .set("Content-Length", &len.to_string())
                    .send(r),
            };
            let response = match result {
                Ok(r) | Err(ureq::Error::Status(_, r)) => r,
                Err(ureq::Error::Transport(t)) => {
                    return Err(self.transport_failure(&operation, &t))
                }
            };
            match response.status() {
                401 if !authenticated => {
                    self.authenticate(&response, reference)?;
                    authenticated = true;
                    if matches!(body, Body::Stream(..)) {
                        return Err(Failure::retry(
                            self.status_error(response, &operation, "", reference),
                        ));
                    }
                }
                401 => {
                    return Err(Failure::fatal(
                        self.status_error(response, &operation, "", reference),
                    ))
                }
                429 | 500..=599 => {
                    return Err(Failure::retry(
                        self.status_error(response, &operation, "", reference),
                    ))
                }
                _ => return Ok(response),
            }
        }
    }

    /// Sends a request with [`call_within`]: its status line and headers must arrive before
    /// the request's deadline; past it, the operation fails (trying again would only wait as
    /// long again).
    fn call_within(
        &self,
        operation: &str,
        sent: Instant,
        request: ureq::Request,
        payload: Payload,
    ) -> Result<Result<ureq::Response, ureq::Error>, Failure> {
        call_within(self.limits(), sent, request, payload)
            .map_err(|limit| Failure::fatal(self.unreachable(operation, limit.to_string())))
    }

    fn same_host(&self, url: &Url) -> bool {
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return false,
        };
        host == self.host
    }

    fn transport_failure(&self, operation: &str, t: &ureq::Transport) -> Failure {
        let detail = transport_detail(t);
        if limit_in_chain(t).is_some() {
            // An upload that crossed a limit: trying again would only cross it again.
            return Failure::fatal(self.unreachable(operation, detail));
        }
        if is_tls_error(t) {
            return Failure::fatal(RegistryError::TlsHandshake {
                registry: self.registry.clone(),
                detail,
            });
        }
        if is_transient(t) {
            Failure::retry(self.unreachable(operation, detail))
        } else {
            Failure::fatal(self.unreachable(operation, detail))
        }
    }

    /// Handles a 401: asks the realm for a bearer token (with the credentials when there are
    /// some), or uses the credentials for Basic auth.
    fn authenticate(&self, response: &ureq::Response, reference: &str) -> Result<(), Failure> {
        let unauthorized = |detail: String| {
            Failure::fatal(RegistryError::Unauthorized {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                reference: reference.to_string(),
                detail,
            })
        };
        let credentials = self.client.credentials_for(&self.registry);
        let challenges = response
            .all("www-authenticate")
            .into_iter()
            .flat_map(parse_www_authenticate)
            .collect::<Vec<_>>();
        if let Some(bearer) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = bearer
                .param("realm")
                .ok_or_else(|| unauthorized("the Bearer challenge has no realm".into()))?;
            let mut url = Url::parse(realm).map_err(|e| {
                unauthorized(format!(
                    "the token realm {:?} is not a URL: {e}",
                    printable(realm, MAX_SERVER_TEXT)
                ))
            })?;
            if url.scheme() != "https" && !self.insecure && credentials.is_some() {
                return Err(unauthorized(format!(
                    "refusing to send credentials to the plain-HTTP token realm {}",
                    printable(realm, MAX_SERVER_TEXT)
                )));
            }
            let scope = format!("repository:{}:{}", self.repository, self.actions);
            {
                let mut query = url.query_pairs_mut();
                if let Some(service) = bearer.param("service") {
                    query.append_pair("service", service);
                }
                query.append_pair("scope", &scope);
                if let Some(asked) = bearer.param("scope").filter(|s| *s != scope) {
                    query.append_pair("scope", asked);
                }
            }
            let mut request = self.request("GET", &url);
            if let Some(c) = credentials {
                request = request.set("Authorization", &c.basic_header());
            }
            let token_op = format!("GET token from {}", url.host_str().unwrap_or("?"));
            let response = match self.call_within(&token_op, Instant::now(), request, Payload::Empty)? {
                Ok(r) => r,
                Err(ureq::Error::Status(401 | 403, _)) => {
                    return Err(unauthorized(match credentials {
                        Some(_) => format!(
                            "the token service {} refused the credentials",
                            url.host_str().unwrap_or("?")
                        ),
                        None => format!(
                            "the token service {} refused anonymous access; give credentials for {}",
                            url.host_str().unwrap_or("?"),
                            self.registry
                        ),
                    }))
                }
                Err(ureq::Error::Status(status, r)) => {
                    let failure = self.status_error(r, &token_op, "", reference);
                    return Err(if status == 429 || status >= 500 {
                        Failure::retry(failure)
                    } else {
                        Failure::fatal(failure)
                    });
                }
                Err(ureq::Error::Transport(t)) => return Err(self.transport_failure(&token_op, &t)),
            };
            let mut body = Vec::new();
            LimitedRead::new(response.into_reader(), self.limits())
                .take(MAX_TOKEN_BODY)
                .read_to_end(&mut body)
                .map_err(|e| Failure::retry(self.unreachable(&token_op, e.to_string())))?;
            let token = token_from_response(&body)
                .ok_or_else(|| unauthorized("the token service answered without a token".into()))?;
            *self.authorization.borrow_mut() = Some(format!("Bearer {token}"));
            Ok(())
        } else if challenges.iter().any(|c| c.scheme == "basic") {
            match credentials {
                Some(c) => {
                    *self.authorization.borrow_mut() = Some(c.basic_header());
                    Ok(())
                }
                None => Err(unauthorized(format!(
                    "the registry requires credentials (Basic) and none were given for {}",
                    self.registry
                ))),
            }
        } else {
            Err(unauthorized(
                "the registry answered 401 without a Basic or Bearer challenge".into(),
            ))
        }
    }

    /// The error for an answer the operation does not expect.
    pub(crate) fn status_error(
        &self,
        response: ureq::Response,
        operation: &str,
        what: &str,
        reference: &str,
    ) -> RegistryError {
        let status = response.status();
        let detail = error_detail(response, self.limits());
        let (registry, repository, reference) = (
            self.registry.clone(),
            self.repository.clone(),
            reference.to_string(),
        );
        match status {
            401 => RegistryError::Unauthorized {
                registry,
                repository,
                reference,
                detail: if self.client.credentials_for(&self.registry).is_some() {
                    format!("the registry refused the credentials ({detail})")
                } else {
                    format!("no credentials were given ({detail})")
                },
            },
            403 => RegistryError::Denied {
                registry,
                repository,
                reference,
                detail,
            },
            404 => RegistryError::NotFound {
                registry,
                repository,
                reference,
                what: if what.is_empty() {
                    "content".into()
                } else {
                    what.into()
                },
                detail,
            },
            _ => RegistryError::HttpStatus {
                registry,
                repository,
                reference,
                operation: operation.to_string(),
                status,
                tries: 1,
                detail,
            },
        }
    }

    /// A transfer that broke while reading the body of `what` (`manifest`, `layer`, ...) at
    /// `reference`: retried, unless it crossed a [`TransferLimits`] limit (a registry that
    /// drips would only drip again).
    pub(crate) fn broken_transfer(
        &self,
        operation: &str,
        what: &str,
        reference: &str,
        e: &std::io::Error,
    ) -> Failure {
        match limit_exceeded(e) {
            Some(limit) => Failure::fatal(RegistryError::TransferStalled {
                registry: self.registry.clone(),
                repository: self.repository.clone(),
                reference: reference.to_string(),
                what: what.to_string(),
                detail: limit.to_string(),
            }),
            None => {
                Failure::retry(self.unreachable(operation, format!("transfer interrupted: {e}")))
            }
        }
    }
}

/// The registry's own explanation: the `errors` of its JSON answer (distribution spec), or
/// the status line. Other bodies are not quoted; what is quoted is made printable.
fn error_detail(response: ureq::Response, limits: TransferLimits) -> String {
    printable(&raw_error_detail(response, limits), MAX_SERVER_TEXT)
}

fn raw_error_detail(response: ureq::Response, limits: TransferLimits) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let status = format!("HTTP {} {}", response.status(), response.status_text());
    let mut body = Vec::new();
    if LimitedRead::new(response.into_reader(), limits)
        .take(MAX_ERROR_BODY)
        .read_to_end(&mut body)
        .is_err()
    {
        return status;
    }
    match serde_json::from_slice::<Errors>(&body) {
        Ok(e) if !e.errors.is_empty() => e
            .errors
            .iter()
            .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
                (false, false) => format!("{}: {}", e.code, e.message),
                (false, true) => e.code.clone(),
                _ => e.message.clone(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        _ => status,
    }
}
