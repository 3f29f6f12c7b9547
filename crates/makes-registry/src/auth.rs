//! Credentials and the `WWW-Authenticate` challenges registries answer 401 with.
//!
//! Two schemes are spoken (distribution spec, "token authentication"): `Basic` (a registry
//! with its own htpasswd) and `Bearer realm=...,service=...,scope=...` (Docker Hub, GHCR, most
//! hosted registries), where the client asks the realm for a token, anonymously or with the
//! basic credentials, and sends it as `Authorization: Bearer <token>`.
//!
//! Secrets never leave this module except inside an `Authorization` header value: the
//! credentials' `Debug` hides them, and no error message quotes them.

use std::fmt;

use base64::Engine as _;

/// A user name and its password or access token, as given by the caller (the CLI reads them
/// from the environment variables a makes.nix names).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    secret: String,
}

impl Credentials {
    /// `secret` is the password or the access token (a GitHub PAT, a Docker Hub token).
    pub fn new(user: impl Into<String>, secret: impl Into<String>) -> Credentials {
        Credentials {
            user: user.into(),
            secret: secret.into(),
        }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The value of an `Authorization` header carrying these credentials.
    pub(crate) fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.user, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// One challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// Lowercased: `basic`, `bearer`.
    pub scheme: String,
    /// Parameter names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

impl Challenge {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a `WWW-Authenticate` value (RFC 7235): challenges separated by commas, each a scheme
/// followed by `name=value` parameters, values plain tokens or quoted strings.
pub(crate) fn parse_www_authenticate(header: &str) -> Vec<Challenge> {
    let mut lexer = Lexer {
        s: header.as_bytes(),
        i: 0,
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        lexer.skip_separators();
        if lexer.i >= lexer.s.len() {
            break;
        }
        let token = lexer.token();
        if token.is_empty() {
            // Not a token: skip the byte so that parsing always advances.
            lexer.i += 1;
            continue;
        }
        lexer.skip_spaces();
        if lexer.peek() == Some(b'=') && !challenges.is_empty() {
            lexer.i += 1;
            lexer.skip_spaces();
            let value = lexer.value();
            if let Some(c) = challenges.last_mut() {
                c.params.push((token.to_ascii_lowercase(), value));
            }
        } else {
            challenges.push(Challenge {
                scheme: token.to_ascii_lowercase(),
                params: Vec::new(),
            });
        }
    }
    challenges
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    /// A token (RFC 7230 tchar), empty when the next byte is not one.
    fn token(&mut self) -> String {
        let start = self.i;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b) {
                self.i += 1;
            } else {
                break;
            }
        }
        String::from_utf8_lossy(&self.s[start..self.i]).into_owned()
    }

    /// A quoted string (with backslash escapes) or a bare value up to the next comma.
    fn value(&mut self) -> String {
        let mut out = Vec::new();
        if self.peek() == Some(b'"') {
            self.i += 1;
            while let Some(b) = self.peek() {
                self.i += 1;
                match b {
                    b'\\' => {
                        if let Some(n) = self.peek() {
                            out.push(n);
                            self.i += 1;
                        }
                    }
                    b'"' => break,
                    b => out.push(b),
                }
            }
        } else {
            while let Some(b) = self.peek() {
                if b == b',' || b == b' ' || b == b'\t' {
                    break;
                }
                out.push(b);
                self.i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// The token of a token service's JSON answer (`token`, or OAuth2's `access_token`).
pub(crate) fn token_from_response(body: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct TokenResponse {
        token: Option<String>,
        access_token: Option<String>,
    }
    let r: TokenResponse = serde_json::from_slice(body).ok()?;
    r.token
        .filter(|t| !t.is_empty())
        .or(r.access_token.filter(|t| !t.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(c: &Challenge) -> Vec<(&str, &str)> {
        c.params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    #[test]
    fn docker_hub_bearer() {
        let cs = parse_www_authenticate(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        );
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].scheme, "bearer");
        assert_eq!(
            params(&cs[0]),
            [
                ("realm", "https://auth.docker.io/token"),
                ("service", "registry.docker.io"),
                ("scope", "repository:library/alpine:pull"),
            ]
        );
    }

    #[test]
    fn ghcr_bearer_with_push_scope() {
        let cs = parse_www_authenticate(
            r#"Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/app:pull,push""#,
        );
        assert_eq!(cs[0].param("scope"), Some("repository:org/app:pull,push"));
        assert_eq!(cs[0].param("service"), Some("ghcr.io"));
    }

    #[test]
    fn basic_and_several_challenges() {
        let cs = parse_www_authenticate(r#"Basic realm="basic-realm""#);
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].scheme, "basic");
        assert_eq!(cs[0].param("realm"), Some("basic-realm"));

        let cs = parse_www_authenticate(
            r#"Basic realm="a, b", charset=UTF-8, BEARER realm=https://x/token , error="insufficient_scope""#,
        );
        assert_eq!(cs.len(), 2);
        assert_eq!(params(&cs[0]), [("realm", "a, b"), ("charset", "UTF-8")]);
        assert_eq!(cs[1].scheme, "bearer");
        assert_eq!(
            params(&cs[1]),
            [
                ("realm", "https://x/token"),
                ("error", "insufficient_scope")
            ]
        );
    }

    #[test]
    fn escapes_and_garbage_do_not_loop() {
        let cs = parse_www_authenticate(r#"Bearer realm="a\"b""#);
        assert_eq!(cs[0].param("realm"), Some("a\"b"));
        for junk in [
            "",
            ",,,",
            "=",
            "\"",
            "Bearer =",
            "@@@ realm=x",
            "Bearer realm=\"unterminated",
        ] {
            let _ = parse_www_authenticate(junk);
        }
    }

    #[test]
    fn credentials_debug_hides_the_secret() {
        let c = Credentials::new("me", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.basic_header(), "Basic bWU6aHVudGVyMg==");
    }

    #[test]
    fn token_answers() {
        assert_eq!(
            token_from_response(br#"{"token":"t1"}"#).as_deref(),
            Some("t1")
        );
        assert_eq!(
            token_from_response(br#"{"access_token":"t2","expires_in":300}"#).as_deref(),
            Some("t2")
        );
        assert_eq!(token_from_response(br#"{"token":""}"#), None);
        assert_eq!(token_from_response(b"nope"), None);
    }
}
