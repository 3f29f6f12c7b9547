//! The bearer-token flow of Docker Hub and GHCR, against a real registry configured with
//! `auth.token`: a 401 with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`, then a
//! token request to the realm (with Basic credentials, or anonymous), then the request again
//! with `Authorization: Bearer`. The token service here is a small test server that signs
//! RS256 JWTs with the `openssl` CLI, carrying the signing certificate in `x5c` as the
//! registry's `rootcertbundle` expects.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use makes_registry::{
    ClientOptions, Credentials, ImageSource, Platform, Reference, RegistryClient, RegistryError,
};
use serde_json::json;

use crate::common::*;

const SERVICE: &str = "makes-test-registry";
const ISSUER: &str = "makes-test-issuer";
const USER: &str = "robot";
const PASSWORD: &str = "t0ken-Passw0rd";

/// A token request's query string, and whether it carried the right Basic credentials (None:
/// anonymous).
type TokenRequest = (String, Option<bool>);

struct TokenServer {
    port: u16,
    requests: Arc<Mutex<Vec<TokenRequest>>>,
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn sign_jwt(key: &Path, cert_der: &[u8], access: serde_json::Value, scratch: &Path) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let header = json!({"alg": "RS256", "typ": "JWT",
        "x5c": [base64::engine::general_purpose::STANDARD.encode(cert_der)]});
    let claims = json!({"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300,
        "nbf": now - 10, "iat": now - 10, "jti": format!("{now}-{}", rand_suffix()), "access": access});
    let input = format!(
        "{}.{}",
        b64url(&serde_json::to_vec(&header).expect("json")),
        b64url(&serde_json::to_vec(&claims).expect("json"))
    );
    let tbs = scratch.join(format!("tbs-{}", rand_suffix()));
    fs::write(&tbs, &input).expect("tbs");
    let out = Command::new("openssl")
        .args(["dgst", "-sha256", "-binary", "-sign"])
        .arg(key)
        .arg(&tbs)
        .output()
        .expect("openssl dgst");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    format!("{input}.{}", b64url(&out.stdout))
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

impl TokenServer {
    /// Grants what the scope asks with the right credentials, nothing anonymously, and 401 to
    /// wrong credentials.
    fn start(key: PathBuf, cert_der: Vec<u8>, scratch: PathBuf) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}"))
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                if reader.read_line(&mut first).is_err() {
                    continue;
                }
                let mut auth = None;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = line.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") {
                            auth = Some(v.trim() == expected);
                        }
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let query = target
                    .split_once('?')
                    .map(|(_, q)| q.to_string())
                    .unwrap_or_default();
                log.lock().expect("lock").push((query.clone(), auth));
                let (status, body) = match auth {
                    Some(false) => (
                        "401 Unauthorized",
                        r#"{"details":"bad credentials"}"#.to_string(),
                    ),
                    _ => {
                        let url = url::Url::parse(&format!("http://x/?{query}")).expect("query");
                        let access: Vec<serde_json::Value> = url
                            .query_pairs()
                            .filter(|(k, _)| k == "scope")
                            .filter_map(|(_, scope)| {
                                let mut parts = scope.splitn(3, ':');
                                let (kind, name, actions) =
                                    (parts.next()?, parts.next()?, parts.next()?);
                                let actions: Vec<&str> = if auth == Some(true) {
                                    actions.split(',').collect()
                                } else {
                                    Vec::new()
                                };
                                Some(json!({"type": kind, "name": name, "actions": actions}))
                            })
                            .collect();
                        let token = sign_jwt(&key, &cert_der, json!(access), &scratch);
                        (
                            "200 OK",
                            json!({"token": token, "expires_in": 300}).to_string(),
                        )
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        TokenServer { port, requests }
    }
}

#[test]
fn bearer_token_flow_against_a_token_authenticated_registry() {
    if !have_tool("docker-registry") || !have_tool("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let key = tmp.path().join("token.key");
    let cert = tmp.path().join("token.pem");
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=makes token signer",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    let der_path = tmp.path().join("token.der");
    run(Command::new("openssl")
        .args(["x509", "-outform", "DER", "-in"])
        .arg(&cert)
        .arg("-out")
        .arg(&der_path));
    let cert_der = fs::read(&der_path).expect("der");
    let tokens = TokenServer::start(key, cert_der, tmp.path().to_path_buf());

    let registry = Registry::start(RegistryConfig {
        token_auth: Some(format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: {SERVICE}\n    issuer: {ISSUER}\n    rootcertbundle: {}\n",
            tokens.port,
            cert.display()
        )),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    let options = ClientOptions {
        insecure_registries: vec![host.clone()],
        ..options()
    };
    let src = tmp.path().join("src");
    let image = write_layout(&src, "1.0", "bearer");
    let reference = Reference::parse(&format!("{host}/org/app:1.0")).expect("ref");

    // With credentials: a token for pull and push, used for the whole push and pull.
    let client = RegistryClient::new(options.clone())
        .expect("client")
        .with_credentials(&host, Credentials::new(USER, PASSWORD));
    let summary = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect("push with a token");
    assert_eq!(summary.manifest_digest, image.manifest_digest);
    let pulled = client
        .pull(
            &reference,
            Some(&image.manifest_digest),
            &Platform::linux_host(),
            &tmp.path().join("out"),
        )
        .expect("pull with a token");
    assert_eq!(pulled.layers.len(), 2);
    {
        let requests = tokens.requests.lock().expect("lock");
        assert_eq!(
            requests.len(),
            2,
            "one token per push and per pull: {requests:?}"
        );
        assert!(requests.iter().all(|(_, auth)| *auth == Some(true)));
        assert!(
            requests[0].0.contains(&format!("service={SERVICE}")),
            "{requests:?}"
        );
        assert!(
            requests[0]
                .0
                .contains("scope=repository%3Aorg%2Fapp%3Apull%2Cpush"),
            "{requests:?}"
        );
        assert!(
            requests[1]
                .0
                .contains("scope=repository%3Aorg%2Fapp%3Apull"),
            "{requests:?}"
        );
    }

    // Anonymous: the token grants nothing, and the registry's refusal is a clear error.
    let anonymous = RegistryClient::new(options.clone()).expect("client");
    let err = anonymous
        .pull(
            &reference,
            None,
            &Platform::linux_host(),
            &tmp.path().join("anon"),
        )
        .expect_err("anonymous");
    eprintln!("anonymous: {err}");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&host) && err.to_string().contains("org/app"),
        "{err}"
    );

    // Wrong credentials: the token service refuses them.
    let wrong = RegistryClient::new(options)
        .expect("client")
        .with_credentials(&host, Credentials::new(USER, "wrong-password"));
    let err = wrong
        .push(&ImageSource::Layout(src), &reference)
        .expect_err("wrong credentials");
    eprintln!("wrong credentials: {err}");
    assert!(err.to_string().contains("refused the credentials"), "{err}");
    assert!(!format!("{err:?}").contains("wrong-password"));
}
