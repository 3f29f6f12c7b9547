//! Proxies from the environment, read as curl and Go's `net/http` read them: `HTTPS_PROXY` for
//! https:// URLs, `HTTP_PROXY` for http:// ones, `ALL_PROXY` for both when the specific one is
//! unset (each also in lower case, which wins, as curl has it), and `NO_PROXY`: a comma-separated
//! list of hosts, domains (`example.com` and `.example.com` both cover its subdomains) and `*`
//! for every host, reached directly. Loopback hosts are always reached directly, as Go does:
//! a registry or cache on this machine is never behind the proxy.
//!
//! Only `http://` proxies are supported (CONNECT tunnels for https:// URLs); a variable that
//! names anything else is an error naming the variable, never its value, which may hold a
//! password.

use std::net::IpAddr;

use crate::error::HttpError;

/// The proxy variables, by what they serve; each as (lower-case name, upper-case name).
const HTTPS_PROXY: (&str, &str) = ("https_proxy", "HTTPS_PROXY");
const HTTP_PROXY: (&str, &str) = ("http_proxy", "HTTP_PROXY");
const ALL_PROXY: (&str, &str) = ("all_proxy", "ALL_PROXY");
const NO_PROXY: (&str, &str) = ("no_proxy", "NO_PROXY");

/// The proxies to use, by URL scheme, and the hosts reached directly.
#[derive(Debug, Clone, Default)]
pub struct Proxies {
    pub(crate) https: Option<ureq::Proxy>,
    pub(crate) http: Option<ureq::Proxy>,
    no_proxy: Vec<String>,
}

impl Proxies {
    /// The proxies the environment names.
    pub fn from_env() -> Result<Proxies, HttpError> {
        Proxies::from_lookup(|name| std::env::var(name).ok())
    }

    /// No proxy at all.
    pub fn none() -> Proxies {
        Proxies::default()
    }

    /// The proxies `lookup` (a variable's value by name) names.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Proxies, HttpError> {
        let get = |(lower, upper): (&'static str, &'static str)| {
            [lower, upper].into_iter().find_map(|name| {
                lookup(name)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (name, v))
            })
        };
        let all = get(ALL_PROXY);
        let pick = |specific| get(specific).or_else(|| all.clone());
        let https = pick(HTTPS_PROXY).map(parse).transpose()?;
        let http = pick(HTTP_PROXY).map(parse).transpose()?;
        let no_proxy = get(NO_PROXY)
            .map(|(_, list)| {
                list.split(',')
                    .map(|e| e.trim().to_ascii_lowercase())
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Proxies {
            https,
            http,
            no_proxy,
        })
    }

    /// The proxy for a URL of `scheme` on `host`, or `None` to go directly.
    pub fn for_url(&self, scheme: &str, host: &str) -> Option<&ureq::Proxy> {
        if self.bypasses(host) {
            return None;
        }
        match scheme {
            "https" => self.https.as_ref(),
            "http" => self.http.as_ref(),
            _ => None,
        }
    }

    /// Whether `host` (without port; an IPv6 address with or without brackets) is reached
    /// directly.
    fn bypasses(&self, host: &str) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let host = host.to_ascii_lowercase();
        if host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.no_proxy.iter().any(|entry| {
            if entry == "*" {
                return true;
            }
            let entry = strip_port(entry).trim_start_matches('.');
            host == entry || host.ends_with(&format!(".{entry}"))
        })
    }
}

/// `host:port` without the port (an IPv6 address in brackets keeps its colons).
fn strip_port(entry: &str) -> &str {
    if let Some(rest) = entry.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            host
        }
        _ => entry,
    }
}

fn parse((variable, value): (&'static str, String)) -> Result<ureq::Proxy, HttpError> {
    let invalid = |reason: &str| HttpError::InvalidProxy {
        variable: variable.to_owned(),
        reason: reason.to_owned(),
    };
    let value = value.trim();
    if let Some((scheme, _)) = value.split_once("://") {
        if !scheme.eq_ignore_ascii_case("http") {
            return Err(invalid(
                "only http:// proxies are supported (not socks or https)",
            ));
        }
    }
    ureq::Proxy::new(value).map_err(|_| invalid("not a URL of the form http://HOST[:PORT]"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn proxies(vars: &[(&str, &str)]) -> Result<Proxies, HttpError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Proxies::from_lookup(|name| map.get(name).cloned())
    }

    fn server(p: Option<&ureq::Proxy>) -> Option<String> {
        // ureq keeps the proxy's fields private; its Debug form names the server.
        p.map(|p| format!("{p:?}"))
    }

    #[test]
    fn each_scheme_has_its_variable_and_all_proxy_fills_in() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://secure.proxy:3128"),
            ("ALL_PROXY", "http://any.proxy:8080"),
        ])
        .expect("valid");
        assert!(server(p.for_url("https", "example.com"))
            .expect("https proxy")
            .contains("secure.proxy"));
        assert!(server(p.for_url("http", "example.com"))
            .expect("all proxy")
            .contains("any.proxy"));
        let lower_wins = proxies(&[
            ("http_proxy", "http://lower:1"),
            ("HTTP_PROXY", "http://upper:2"),
        ])
        .expect("valid");
        assert!(server(lower_wins.for_url("http", "example.com"))
            .expect("proxy")
            .contains("lower"));
        assert!(proxies(&[])
            .expect("none")
            .for_url("https", "a.b")
            .is_none());
    }

    #[test]
    fn no_proxy_and_loopback_go_directly() {
        let p = proxies(&[
            ("HTTPS_PROXY", "http://proxy:3128"),
            ("NO_PROXY", "internal.example, .corp.net:443, 10.0.0.7"),
        ])
        .expect("valid");
        for direct in [
            "internal.example",
            "cache.internal.example",
            "corp.net",
            "registry.corp.net",
            "10.0.0.7",
            "localhost",
            "127.0.0.1",
            "[::1]",
        ] {
            assert!(p.for_url("https", direct).is_none(), "{direct}");
        }
        for proxied in ["example.com", "notinternal.example", "10.0.0.8"] {
            assert!(p.for_url("https", proxied).is_some(), "{proxied}");
        }
        let all =
            proxies(&[("HTTPS_PROXY", "http://proxy:3128"), ("no_proxy", "*")]).expect("valid");
        assert!(all.for_url("https", "example.com").is_none());
    }

    #[test]
    fn an_unusable_proxy_names_its_variable_and_not_its_value() {
        let err =
            proxies(&[("HTTPS_PROXY", "socks5://user:secret@proxy:1080")]).expect_err("socks");
        let text = err.to_string();
        assert!(
            text.contains("HTTPS_PROXY") && !text.contains("secret"),
            "{text}"
        );
    }
}
