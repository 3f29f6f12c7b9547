//! How makes reaches a registry: which ones are insecure (plain HTTP or an unchecked
//! certificate: those in `MAKES_INSECURE_REGISTRIES`, those given `--insecure` or
//! `tlsVerify = false`, and loopback ones, as Docker treats them), and what to tell the user
//! when a registry refuses makes: the flag or variable that would have helped.

use makes_registry::RegistryError;

/// Whether `registry` (`host[:port]`) is on this machine: `localhost`, `127.0.0.0/8`, `::1`.
pub fn is_loopback(registry: &str) -> bool {
    let host = match registry.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(""),
        None => registry.rsplit_once(':').map_or(registry, |(h, _)| h),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether `registry` may be reached without a verified certificate.
pub fn insecure_by_default(registry: &str) -> bool {
    is_loopback(registry)
        || crate::publish::insecure_registries()
            .iter()
            .any(|r| r == registry)
}

/// What makes was doing, for the hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    Pull,
    Push,
}

/// A registry's refusal, with a hint naming what to set when one would help.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{error}")]
pub struct Explained {
    pub error: RegistryError,
    #[help]
    pub hint: Option<String>,
}

/// `error` with the hint for what makes was doing.
pub fn explain(error: RegistryError, operation: Operation, had_credentials: bool) -> Explained {
    let hint = hint(&error, operation, had_credentials);
    Explained { error, hint }
}

fn hint(error: &RegistryError, operation: Operation, had_credentials: bool) -> Option<String> {
    match error {
        RegistryError::TlsHandshake { registry, .. } => Some(match operation {
            Operation::Push => format!(
                "trust its CA with SSL_CERT_FILE=ca.pem, or if {registry} is yours and may go unchecked, push with --insecure (or MAKES_INSECURE_REGISTRIES=\"{registry}\")"
            ),
            Operation::Pull => format!(
                "trust its CA with SSL_CERT_FILE=ca.pem, or if {registry} is yours and may go unchecked, set MAKES_INSECURE_REGISTRIES=\"{registry}\" (or tlsVerify = false in the pullImage)"
            ),
        }),
        RegistryError::Unauthorized { registry, .. } if !had_credentials => Some(format!(
            "no credentials were given for {registry}: `docker login {registry}` (or podman login) stores them, or a credential helper in ~/.docker/config.json (credsStore, credHelpers) gives them{}",
            match operation {
                Operation::Push => "; makes push also takes --user-env VAR --token-env VAR",
                Operation::Pull => "",
            }
        )),
        RegistryError::Unauthorized { registry, .. } => Some(format!(
            "{registry} refused the credentials makes found: check them (docker login {registry} stores new ones)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_are_recognised() {
        for host in [
            "localhost:5000",
            "127.0.0.1:5000",
            "127.1.2.3",
            "[::1]:5000",
            "localhost",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in ["ghcr.io", "10.0.0.1:5000", "localhost.example.com:5000"] {
            assert!(!is_loopback(host), "{host}");
        }
    }

    #[test]
    fn hints_name_the_flag_or_variable() {
        let tls = RegistryError::TlsHandshake {
            registry: "r:1".into(),
            detail: "x".into(),
        };
        let hint_of = |error: &RegistryError, operation, had_credentials| {
            hint(error, operation, had_credentials).unwrap_or_default()
        };
        assert!(hint_of(&tls, Operation::Pull, false).contains("MAKES_INSECURE_REGISTRIES=\"r:1\""));
        assert!(hint_of(&tls, Operation::Push, false).contains("--insecure"));
        let unauthorized = RegistryError::Unauthorized {
            registry: "r:1".into(),
            repository: "a".into(),
            reference: "b".into(),
            detail: "d".into(),
        };
        assert!(
            hint_of(&unauthorized, Operation::Push, false).contains("no credentials were given")
        );
        assert!(
            !hint_of(&unauthorized, Operation::Pull, true).contains("no credentials were given")
        );
        let explained = explain(tls, Operation::Pull, false);
        assert_eq!(explained.to_string(), explained.error.to_string());
        assert!(explained.hint.is_some());
    }
}
