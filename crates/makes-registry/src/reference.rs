//! Image references (`alpine`, `ghcr.io/org/app:1.0`, `127.0.0.1:5000/app@sha256:...`) parsed
//! and normalised as Docker does (distribution's `reference.ParseNormalizedNamed`):
//!
//! - the first path component is the registry when it contains `.` or `:`, is `localhost`, or
//!   has an uppercase letter, and there is a `/` after it; otherwise the registry is `docker.io`
//!   (`index.docker.io` is the same registry);
//! - on `docker.io`, a single-component name gets `library/` in front;
//! - with neither tag nor digest, the tag is `latest`.
//!
//! `docker.io` is the registry's name; its API is served by `registry-1.docker.io`.

use std::fmt;
use std::str::FromStr;

use crate::error::RegistryError;
use makes_oci_model::Digest;

/// The name Docker gives to Docker Hub.
pub const DOCKER_HUB: &str = "docker.io";
/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";
const LEGACY_DOCKER_HUB: &str = "index.docker.io";
const DEFAULT_TAG: &str = "latest";
const MAX_NAME_LEN: usize = 255;

/// A normalised image reference: registry, repository, and a tag and/or a digest.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl Reference {
    /// Parses and normalises `input` as `docker pull` does.
    pub fn parse(input: &str) -> Result<Reference, RegistryError> {
        let invalid = |reason: &str| RegistryError::InvalidReference {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        if input.is_empty() {
            return Err(invalid("it is empty"));
        }
        let (rest, digest) = match input.split_once('@') {
            Some((rest, d)) => (rest, Some(Digest::parse(d)?)),
            None => (input, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let tag = &rest[last_slash + i + 1..];
                if !valid_tag(tag) {
                    return Err(invalid(&format!(
                        "invalid tag {tag:?} (letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-')"
                    )));
                }
                (&rest[..last_slash + i], Some(tag.to_string()))
            }
            None => (rest, None),
        };
        let (mut registry, mut repository) = match name.split_once('/') {
            Some((first, remainder))
                if first.contains(['.', ':'])
                    || first == "localhost"
                    || first.bytes().any(|b| b.is_ascii_uppercase()) =>
            {
                (first.to_string(), remainder.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if registry == LEGACY_DOCKER_HUB {
            registry = DOCKER_HUB.to_string();
        }
        if !valid_registry(&registry) {
            return Err(invalid(&format!("invalid registry {registry:?}")));
        }
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        if repository.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(invalid("repository name must be lowercase"));
        }
        if !repository.split('/').all(valid_path_component) {
            return Err(invalid(&format!(
                "invalid repository {repository:?} (components of a-z, 0-9 separated by '.', '_', '__' or '-')"
            )));
        }
        if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
            return Err(invalid("the name is longer than 255 characters"));
        }
        let tag = match (tag, &digest) {
            (None, None) => Some(DEFAULT_TAG.to_string()),
            (tag, _) => tag,
        };
        Ok(Reference {
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The registry as named in references (`docker.io`, `ghcr.io`, `127.0.0.1:5000`); the key
    /// for credentials and the insecure list.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host (and port) that serves the registry's API.
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// The repository inside the registry (`library/alpine`, `org/app`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// The same reference pinned to `digest` (the tag is kept for display and for pushing).
    pub fn with_digest(&self, digest: Digest) -> Reference {
        Reference {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// What goes into `/v2/<name>/manifests/<reference>`: the digest when there is one, else
    /// the tag.
    pub fn manifest_reference(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => DEFAULT_TAG.to_string(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reference({self})")
    }
}

impl FromStr for Reference {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Reference, RegistryError> {
        Reference::parse(s)
    }
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`
fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Host names of `[a-zA-Z0-9-]` labels joined by dots, or a bracketed IPv6 address, with an
/// optional port.
fn valid_registry(registry: &str) -> bool {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        match rest.split_once(']') {
            Some((addr, after)) => {
                if addr.is_empty() || !addr.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
                    return false;
                }
                match after {
                    "" => return true,
                    p => match p.strip_prefix(':') {
                        Some(port) => ("x", Some(port)),
                        None => return false,
                    },
                }
            }
            None => return false,
        }
    } else {
        match registry.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (registry, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    port_ok && host.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parts(input: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        (
            r.registry().to_string(),
            r.repository().to_string(),
            r.tag().map(str::to_string),
            r.digest().map(|d| d.to_string()),
        )
    }

    fn p(
        reg: &str,
        repo: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> (String, String, Option<String>, Option<String>) {
        (
            reg.into(),
            repo.into(),
            tag.map(Into::into),
            digest.map(Into::into),
        )
    }

    #[test]
    fn docker_normalisation() {
        let cases = [
            (
                "alpine",
                p("docker.io", "library/alpine", Some("latest"), None),
            ),
            (
                "alpine:3.19",
                p("docker.io", "library/alpine", Some("3.19"), None),
            ),
            (
                "docker.io/library/alpine",
                p("docker.io", "library/alpine", Some("latest"), None),
            ),
            (
                "docker.io/alpine",
                p("docker.io", "library/alpine", Some("latest"), None),
            ),
            (
                "index.docker.io/alpine",
                p("docker.io", "library/alpine", Some("latest"), None),
            ),
            (
                "bitnami/redis",
                p("docker.io", "bitnami/redis", Some("latest"), None),
            ),
            (
                "ghcr.io/org/app:1.0",
                p("ghcr.io", "org/app", Some("1.0"), None),
            ),
            ("localhost/x", p("localhost", "x", Some("latest"), None)),
            (
                "localhost:5000/x/y:t",
                p("localhost:5000", "x/y", Some("t"), None),
            ),
            (
                "localhost",
                p("docker.io", "library/localhost", Some("latest"), None),
            ),
            (
                &format!("127.0.0.1:5000/app@{D}"),
                p("127.0.0.1:5000", "app", None, Some(D)),
            ),
            (
                &format!("127.0.0.1:5000/app:v1@{D}"),
                p("127.0.0.1:5000", "app", Some("v1"), Some(D)),
            ),
            ("Registry/app", p("Registry", "app", Some("latest"), None)),
            (
                "[::1]:5000/app",
                p("[::1]:5000", "app", Some("latest"), None),
            ),
            (
                "a.b/c__d/e-f/g.h_i:tag_1.x-y",
                p("a.b", "c__d/e-f/g.h_i", Some("tag_1.x-y"), None),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(parts(input), expected, "{input}");
        }
    }

    #[test]
    fn api_host_and_display() {
        let r = Reference::parse("alpine").expect("parses");
        assert_eq!(r.api_host(), "registry-1.docker.io");
        assert_eq!(r.to_string(), "docker.io/library/alpine:latest");
        assert_eq!(r.manifest_reference(), "latest");
        let r = Reference::parse(&format!("127.0.0.1:5000/app:v1@{D}")).expect("parses");
        assert_eq!(r.api_host(), "127.0.0.1:5000");
        assert_eq!(r.manifest_reference(), D);
        assert_eq!(r.to_string(), format!("127.0.0.1:5000/app:v1@{D}"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "Alpine",
            "docker.io/Library/alpine",
            "app:",
            "app:-x",
            "app@sha256:abc",
            "app@md5:0123",
            "-app",
            "app-",
            "a..b",
            "a/_b",
            "host:port/app",
            "ghcr.io/",
            "a b",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        let err = Reference::parse("Alpine").expect_err("uppercase");
        assert!(err.to_string().contains("lowercase"), "{err}");
    }
}
