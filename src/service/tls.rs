//! The TLS side of the gRPC listener: the server's certificate and key, TLS 1.3 (1.2 only
//! by the named switch `server.allow_tls12`), ALPN h2, and a client-certificate policy
//! that asks for a certificate but lets the application judge it.
//!
//! The handshake checks only that the client holds the key of the certificate it presents
//! (its handshake signature); whether that certificate is trusted, valid, unrevoked and
//! fits the role profile is decided by `App::identify` with the verifier's own path
//! validation, so that a bad certificate gets a gRPC code and a message, not a broken
//! connection. Verifying bytes is public, so a client without a certificate is let in.

use std::path::Path;
use std::sync::Arc;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{CryptoProvider, ring};
use tokio_rustls::rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
    UnixTime,
};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{
    self, DigitallySignedStruct, DistinguishedName, SignatureScheme, version,
};

use crate::config::ServerConfig;
use crate::error::{Error, Result};

/// Asks for a client certificate, accepts any (or none) whose key signed the handshake.
#[derive(Debug)]
struct ClientCertForTheApp {
    provider: Arc<CryptoProvider>,
    hints: Vec<DistinguishedName>,
}

impl ClientCertVerifier for ClientCertForTheApp {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> std::result::Result<ClientCertVerified, rustls::Error> {
        // Judged by the application (App::identify), with a gRPC answer.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn read_pem(path: &Path) -> Result<Vec<pem::Pem>> {
    let text = std::fs::read(path)
        .map_err(|e| Error::InvalidArgument(format!("cannot read {}: {e}", path.display())))?;
    pem::parse_many(text)
        .map_err(|e| Error::InvalidArgument(format!("{} is not PEM: {e}", path.display())))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let chain: Vec<CertificateDer<'static>> = read_pem(path)?
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(|p| CertificateDer::from(p.into_contents()))
        .collect();
    if chain.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "server.tls_cert_file {}: no CERTIFICATE in it",
            path.display()
        )));
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>> {
    for p in read_pem(path)? {
        let key = match p.tag() {
            "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(p.into_contents())),
            "EC PRIVATE KEY" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(p.into_contents())),
            "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(p.into_contents())),
            _ => continue,
        };
        return Ok(key);
    }
    Err(Error::InvalidArgument(format!(
        "server.tls_key_file {}: no PRIVATE KEY in it",
        path.display()
    )))
}

/// The TLS acceptor of the gRPC listener; `hints` are the DER subjects of the client CAs
/// (sent to clients so they pick the right certificate).
pub fn acceptor(config: &ServerConfig, hints: Vec<Vec<u8>>) -> Result<TlsAcceptor> {
    let provider = Arc::new(ring::default_provider());
    let versions: &[&rustls::SupportedProtocolVersion] = if config.allow_tls12 {
        &[&version::TLS13, &version::TLS12]
    } else {
        &[&version::TLS13]
    };
    let verifier = ClientCertForTheApp {
        provider: Arc::clone(&provider),
        hints: hints.into_iter().map(DistinguishedName::from).collect(),
    };
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .map_err(|e| Error::Internal(format!("TLS versions: {e}")))?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(
            certificates(&config.tls_cert_file)?,
            private_key(&config.tls_key_file)?,
        )
        .map_err(|e| {
            Error::InvalidArgument(format!(
                "server.tls_cert_file / server.tls_key_file cannot be used together: {e}"
            ))
        })?;
    tls.alpn_protocols = vec![b"h2".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(tls)))
}
