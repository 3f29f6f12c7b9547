//! The two TLS configurations of the client (rustls with the `ring` provider):
//!
//! - verified: the system's roots (through `rustls-native-certs`, which reads `SSL_CERT_FILE` /
//!   `SSL_CERT_DIR` instead when they are set), Mozilla's roots when the system has none, and
//!   the caller's extra CA files (PEM);
//! - unverified, only for hosts the caller marks insecure: any certificate is accepted,
//!   handshake signatures are still checked.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::HttpError;

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, HttpError> {
    ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Tls {
            reason: e.to_string(),
        })
}

/// The verifying configuration: system roots plus every certificate of `ca_files`.
pub(crate) fn verified_config(
    ca_files: &[impl AsRef<Path>],
) -> Result<Arc<ClientConfig>, HttpError> {
    let mut roots = RootCertStore::empty();
    // Unreadable or malformed system certificates are skipped, as browsers and curl do; a
    // machine with none at all falls back to Mozilla's list below.
    if let Ok(certs) = rustls_native_certs::load_native_certs() {
        roots.add_parsable_certificates(certs);
    }
    if roots.is_empty() {
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    }
    for file in ca_files {
        let file = file.as_ref();
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
            .and_then(|it| it.collect::<Result<_, _>>())
            .map_err(|e| HttpError::Tls {
                reason: format!("cannot read CA certificates from {}: {e}", file.display()),
            })?;
        if certs.is_empty() {
            return Err(HttpError::Tls {
                reason: format!("{} holds no PEM certificate", file.display()),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| HttpError::Tls {
                reason: format!("invalid CA certificate in {}: {e}", file.display()),
            })?;
        }
    }
    Ok(Arc::new(
        builder()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}

/// The configuration for insecure hosts: any server certificate is accepted.
pub(crate) fn unverified_config() -> Result<Arc<ClientConfig>, HttpError> {
    let verifier = AcceptAnyCertificate(provider());
    Ok(Arc::new(
        builder()?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
    ))
}

#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_build() {
        verified_config(&[] as &[&Path]).expect("system roots or Mozilla's");
        unverified_config().expect("insecure config");
    }

    #[test]
    fn bad_ca_file_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("tmp");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = verified_config(&[&empty]).expect_err("no certificate");
        assert!(
            err.to_string().contains("holds no PEM certificate"),
            "{err}"
        );
        let missing = dir.path().join("missing.pem");
        let err = verified_config(&[&missing]).expect_err("missing");
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }
}
