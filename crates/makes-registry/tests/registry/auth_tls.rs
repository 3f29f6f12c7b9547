//! TLS with a self-signed CA and htpasswd (Basic) authentication.

use makes_registry::{
    ClientOptions, Credentials, ImageSource, Platform, Reference, RegistryClient, RegistryError,
};

use crate::common::*;

const USER: &str = "makes";
const PASSWORD: &str = "s3cret-Pa55word";

#[test]
fn push_and_pull_over_tls_with_htpasswd() {
    if !have_tool("docker-registry") || !have_tool("openssl") || !have_tool("htpasswd") {
        return;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let tls = make_tls(tmp.path());
    let registry = Registry::start(RegistryConfig {
        tls: Some(&tls),
        htpasswd: Some((USER, PASSWORD)),
        ..RegistryConfig::default()
    });
    let host = registry.host();
    let src = tmp.path().join("src");
    let image = write_layout(&src, "1.0", "tls");
    let reference = Reference::parse(&format!("{host}/secure/app:1.0")).expect("ref");
    let trusting = || {
        let mut options = options();
        options.http.ca_files = vec![tls.ca.clone()];
        RegistryClient::new(options).expect("client")
    };

    // The CA trusted through a CA file, with the right credentials: push and pull work.
    let client = trusting().with_credentials(&host, Credentials::new(USER, PASSWORD));
    let summary = client
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect("push");
    assert_eq!(summary.manifest_digest, image.manifest_digest);
    let pulled = client
        .pull(
            &reference,
            Some(&image.manifest_digest),
            &Platform::linux_host(),
            &tmp.path().join("out"),
        )
        .expect("pull");
    assert_eq!(pulled.layers.len(), 2);

    // Wrong credentials: a clear error naming registry, repository and reference, without the
    // password.
    let wrong = trusting().with_credentials(&host, Credentials::new(USER, "not-the-password"));
    let err = wrong
        .pull(
            &reference,
            None,
            &Platform::linux_host(),
            &tmp.path().join("wrong"),
        )
        .expect_err("wrong password");
    eprintln!("wrong password: {err}");
    assert!(matches!(err, RegistryError::Unauthorized { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&host) && msg.contains("secure/app") && msg.contains("1.0"),
        "{msg}"
    );
    assert!(msg.contains("refused the credentials"), "{msg}");
    assert!(!msg.contains("not-the-password") && !format!("{err:?}").contains("not-the-password"));
    assert!(!tmp.path().join("wrong/index.json").exists());

    // No credentials at all.
    let err = trusting()
        .push(&ImageSource::Layout(src.clone()), &reference)
        .expect_err("anonymous");
    eprintln!("anonymous: {err}");
    assert!(err.to_string().contains("requires credentials"), "{err}");

    // Not trusting the CA: a TLS error, not retried, that says what to do.
    let untrusting = RegistryClient::new(options()).expect("client");
    let err = untrusting
        .pull(
            &reference,
            None,
            &Platform::linux_host(),
            &tmp.path().join("untrusted"),
        )
        .expect_err("unknown CA");
    eprintln!("unknown CA: {err}");
    assert!(matches!(err, RegistryError::TlsHandshake { .. }), "{err:?}");
    assert!(err.to_string().contains(&host), "{err}");

    // Marked insecure: the certificate is not verified.
    let insecure = RegistryClient::new(ClientOptions {
        insecure_registries: vec![host.clone()],
        ..options()
    })
    .expect("client")
    .with_credentials(&host, Credentials::new(USER, PASSWORD));
    insecure
        .pull(
            &reference,
            None,
            &Platform::linux_host(),
            &tmp.path().join("insecure"),
        )
        .expect("insecure pull over TLS");

    // SSL_CERT_FILE replaces the system roots (rustls-native-certs reads it).
    std::env::set_var("SSL_CERT_FILE", &tls.ca);
    let from_env = RegistryClient::new(options());
    std::env::remove_var("SSL_CERT_FILE");
    from_env
        .expect("client")
        .with_credentials(&host, Credentials::new(USER, PASSWORD))
        .pull(
            &reference,
            None,
            &Platform::linux_host(),
            &tmp.path().join("env"),
        )
        .expect("pull trusting SSL_CERT_FILE");

    // Nothing we wrote holds the password.
    for f in list_files(tmp.path()) {
        if let Ok(text) = std::fs::read(tmp.path().join(&f)) {
            assert!(
                !String::from_utf8_lossy(&text).contains(PASSWORD),
                "{f} holds the password"
            );
        }
    }
}
