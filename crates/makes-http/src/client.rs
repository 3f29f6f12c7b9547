//! The client: one place where makes' HTTP agents are made (TLS roots, timeouts, user agent,
//! redirects, proxies), for the registry client, the binary-cache substituter and the URL
//! fetchers alike.
//!
//! `ureq` 2 holds one proxy per agent, so the client keeps one agent per way out (direct, or
//! through the proxy of a scheme) and per TLS trust (verified, or unverified for the hosts a
//! caller marks insecure), and picks the agent for each URL.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::HttpError;
use crate::limits::TransferLimits;
use crate::proxy::Proxies;
use crate::retry::RetryPolicy;
use crate::tls;

/// How the client talks to servers.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// PEM files of extra CA certificates to trust, besides the system's (which
    /// `SSL_CERT_FILE`/`SSL_CERT_DIR` replace when set).
    pub ca_files: Vec<PathBuf>,
    /// Tries and backoff of requests that fail transiently.
    pub retry: RetryPolicy,
    pub connect_timeout: Duration,
    /// The longest wait for any one read or write on a connection.
    pub io_timeout: Duration,
    /// The deadline of each request and the minimum rate of each transfer.
    pub limits: TransferLimits,
}

impl Default for HttpOptions {
    fn default() -> HttpOptions {
        HttpOptions {
            ca_files: Vec::new(),
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(30),
            io_timeout: Duration::from_secs(120),
            limits: TransferLimits::default(),
        }
    }
}

/// Whether a server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// Against the system's roots and the extra CA files.
    Verified,
    /// Not at all (handshake signatures still are): only for hosts the user marks insecure.
    Unverified,
}

/// The agents of one TLS trust: direct, and through each scheme's proxy.
struct Agents {
    direct: ureq::Agent,
    via_https_proxy: Option<ureq::Agent>,
    via_http_proxy: Option<ureq::Agent>,
}

/// makes' HTTP client. Cheap to share by reference across threads.
pub struct HttpClient {
    options: HttpOptions,
    proxies: Proxies,
    verified: Agents,
    unverified: Agents,
}

impl HttpClient {
    /// A client with `options` and the proxies of the environment; fails when a CA file cannot
    /// be used or a proxy variable is not a proxy.
    pub fn new(options: HttpOptions) -> Result<HttpClient, HttpError> {
        HttpClient::with_proxies(options, Proxies::from_env()?)
    }

    /// A client with `options` and `proxies`.
    pub fn with_proxies(options: HttpOptions, proxies: Proxies) -> Result<HttpClient, HttpError> {
        let verified = agents(&options, &proxies, tls::verified_config(&options.ca_files)?);
        let unverified = agents(&options, &proxies, tls::unverified_config()?);
        Ok(HttpClient {
            options,
            proxies,
            verified,
            unverified,
        })
    }

    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    pub fn limits(&self) -> TransferLimits {
        self.options.limits
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.options.retry
    }

    /// The agent that reaches `url` with `trust`: through the proxy of its scheme unless its
    /// host goes directly.
    pub fn agent_for(&self, url: &Url, trust: Trust) -> &ureq::Agent {
        let agents = match trust {
            Trust::Verified => &self.verified,
            Trust::Unverified => &self.unverified,
        };
        let proxied = self
            .proxies
            .for_url(url.scheme(), url.host_str().unwrap_or(""))
            .is_some();
        let via = match url.scheme() {
            "https" if proxied => agents.via_https_proxy.as_ref(),
            "http" if proxied => agents.via_http_proxy.as_ref(),
            _ => None,
        };
        via.unwrap_or(&agents.direct)
    }

    /// A request of `method` to `url` with `trust`.
    pub fn request(&self, method: &str, url: &Url, trust: Trust) -> ureq::Request {
        self.agent_for(url, trust).request_url(method, url)
    }
}

fn agents(options: &HttpOptions, proxies: &Proxies, tls: Arc<rustls::ClientConfig>) -> Agents {
    let agent = |proxy: Option<&ureq::Proxy>| {
        let mut builder = ureq::AgentBuilder::new()
            .tls_config(Arc::clone(&tls))
            .timeout_connect(options.connect_timeout)
            .timeout_read(options.io_timeout)
            .timeout_write(options.io_timeout)
            .user_agent(concat!("makes/", env!("CARGO_PKG_VERSION")))
            .redirects(5)
            .try_proxy_from_env(false);
        if let Some(proxy) = proxy {
            builder = builder.proxy(proxy.clone());
        }
        builder.build()
    };
    Agents {
        direct: agent(None),
        via_https_proxy: proxies.https.as_ref().map(|p| agent(Some(p))),
        via_http_proxy: proxies.http.as_ref().map(|p| agent(Some(p))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A stand-in proxy on 127.0.0.1: answers every request with the request line it got.
    fn echoing_proxy() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                let Ok(mut stream) = stream else { return };
                let mut request = [0u8; 4096];
                let n = stream.read(&mut request).unwrap_or(0);
                let text = String::from_utf8_lossy(&request[..n]).into_owned();
                let line = text.lines().next().unwrap_or("").to_owned();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{line}",
                    line.len()
                );
                let _ = stream.write_all(answer.as_bytes());
            }
        });
        address
    }

    #[test]
    fn plain_http_goes_through_the_proxy_of_its_scheme() {
        let proxy = echoing_proxy();
        let proxies =
            Proxies::from_lookup(|name| (name == "HTTP_PROXY").then(|| format!("http://{proxy}")))
                .expect("valid proxy");
        let client = HttpClient::with_proxies(HttpOptions::default(), proxies).expect("client");
        let url = Url::parse("http://cache.invalid/nix-cache-info").expect("url");
        let body = client
            .request("GET", &url, Trust::Verified)
            .call()
            .expect("answered by the proxy")
            .into_string()
            .expect("text");
        // A proxy is asked for the absolute URL; a server would get only the path.
        assert_eq!(body, "GET http://cache.invalid/nix-cache-info HTTP/1.1");
    }

    #[test]
    fn loopback_and_unproxied_schemes_go_directly() {
        let proxies = Proxies::from_lookup(|name| {
            (name == "HTTP_PROXY").then(|| "http://proxy.invalid:3128".to_owned())
        })
        .expect("valid proxy");
        let client = HttpClient::with_proxies(HttpOptions::default(), proxies).expect("client");
        let direct = |u: &str| {
            let url = Url::parse(u).expect("url");
            std::ptr::eq(
                client.agent_for(&url, Trust::Verified),
                &client.verified.direct,
            )
        };
        assert!(direct("http://127.0.0.1:5000/v2/"));
        assert!(direct("https://example.com/"), "no HTTPS proxy is set");
        assert!(!direct("http://example.com/"));
    }
}
