//! Signer credentials: a private key behind the [`SigningKey`] trait (a ring key in memory,
//! or a key on a PKCS#11 token: [`super::pkcs11`]) and the certificate chain that goes with it.
//!
//! Keys never appear in logs: [`RingKey`]'s `Debug` prints only the algorithm.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};

/// Errors loading or using a signing key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// File that failed.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not PEM with a `PRIVATE KEY` (PKCS#8) block.
    #[error("{0}: expected a PEM \"PRIVATE KEY\" (PKCS#8) block")]
    NotPkcs8(String),
    /// The PKCS#8 key is not RSA (2048..8192 bits) or ECDSA P-256/P-384.
    #[error("unsupported or malformed private key: {0}")]
    Unsupported(String),
    /// The certificate file holds no certificate.
    #[error("{0}: no certificate found")]
    NoCertificate(String),
    /// The key does not belong to the first certificate of the chain.
    #[error("the private key does not match the certificate {0}")]
    Mismatch(String),
    /// The signing operation itself failed.
    #[error("signing failed")]
    SignFailed,
    /// A PKCS#11 key spec or `pkcs11:` URI is incomplete or contradicts itself; the message
    /// names the field or URI attribute.
    #[error("PKCS#11 key spec: {0}")]
    Pkcs11Spec(String),
    /// The token PIN could not be read from its file or environment variable (the message
    /// names the source, never the PIN).
    #[error("PKCS#11 PIN: {0}")]
    Pkcs11Pin(String),
    /// The PKCS#11 module could not be loaded or initialised.
    #[error("PKCS#11 module {module}: {reason}")]
    Pkcs11Module {
        /// Path of the module (.so).
        module: String,
        /// What failed.
        reason: String,
    },
    /// No token with the label, or no private key with the label / id, or more than one.
    #[error("PKCS#11: {0}")]
    Pkcs11NotFound(String),
    /// The token refused the user login (wrong PIN, PIN locked).
    #[error("PKCS#11 login to token {token:?} refused: {reason}")]
    Pkcs11Login {
        /// The token label.
        token: String,
        /// The return code, e.g. `CKR_PIN_INCORRECT`.
        reason: String,
    },
    /// The key on the token is of a type or curve saoy does not sign with, or does not fit
    /// the mechanism asked for.
    #[error("PKCS#11 key: {0}")]
    Pkcs11Unsupported(String),
    /// Another PKCS#11 call failed: the function and its return code.
    #[error("PKCS#11: {0}")]
    Pkcs11(String),
}

/// Signature algorithm a key produces, named by what goes into CMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RsaPkcs1Sha256,
    /// RSASSA-PSS with SHA-256, MGF1 with SHA-256 and a 32-byte salt (RFC 8017 §8.1).
    RsaPssSha256,
    /// ECDSA on P-256 with SHA-256, DER-encoded signature.
    EcdsaP256Sha256,
    /// ECDSA on P-384 with SHA-384, DER-encoded signature.
    EcdsaP384Sha384,
}

impl KeyAlgorithm {
    /// Upper bound of the encoded signature length for a key of `modulus_len` bytes.
    pub(crate) fn max_signature_len(self, modulus_len: usize) -> usize {
        match self {
            KeyAlgorithm::RsaPkcs1Sha256 | KeyAlgorithm::RsaPssSha256 => modulus_len,
            KeyAlgorithm::EcdsaP256Sha256 => 72,
            KeyAlgorithm::EcdsaP384Sha384 => 104,
        }
    }
}

/// A private key that signs messages. Implemented by [`RingKey`] and by
/// [`super::pkcs11::Pkcs11Key`] (a key on a PKCS#11 token); a remote signer implements the
/// same trait.
pub trait SigningKey: Send + Sync + fmt::Debug {
    /// Signs `message` (the key hashes it as its algorithm requires).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// The algorithm of the signatures this key makes.
    fn algorithm(&self) -> KeyAlgorithm;
    /// Upper bound of the signature length in bytes (to size placeholders).
    fn max_signature_len(&self) -> usize;
    /// The public key as it appears in the certificate's subjectPublicKey BIT STRING.
    fn public_key(&self) -> &[u8];
}

/// A software key held by ring.
pub struct RingKey {
    inner: RingInner,
    algorithm: KeyAlgorithm,
    rng: SystemRandom,
}

enum RingInner {
    Rsa(RsaKeyPair),
    Ecdsa(EcdsaKeyPair),
}

impl fmt::Debug for RingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl RingKey {
    /// Reads a PKCS#8 key from DER: RSA, ECDSA P-256 or P-384.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        if let Ok(rsa) = RsaKeyPair::from_pkcs8(der) {
            return Ok(Self {
                inner: RingInner::Rsa(rsa),
                algorithm: KeyAlgorithm::RsaPkcs1Sha256,
                rng,
            });
        }
        let curves = [
            (
                &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                KeyAlgorithm::EcdsaP256Sha256,
            ),
            (
                &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                KeyAlgorithm::EcdsaP384Sha384,
            ),
        ];
        for (alg, algorithm) in curves {
            if let Ok(ec) = EcdsaKeyPair::from_pkcs8(alg, der, &rng) {
                return Ok(Self {
                    inner: RingInner::Ecdsa(ec),
                    algorithm,
                    rng,
                });
            }
        }
        Err(KeyError::Unsupported(
            "expected RSA (2048 to 8192 bits) or ECDSA P-256/P-384 in PKCS#8".into(),
        ))
    }

    /// Reads a PEM `PRIVATE KEY` block.
    pub fn from_pem(pem_text: &str, origin: &str) -> Result<Self, KeyError> {
        let block = pem::parse(pem_text).map_err(|_| KeyError::NotPkcs8(origin.to_string()))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(KeyError::NotPkcs8(origin.to_string()));
        }
        Self::from_pkcs8_der(block.contents())
    }

    /// Reads a PEM `PRIVATE KEY` file.
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_pem(&text, &path.display().to_string())
    }
}

impl SigningKey for RingKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        match &self.inner {
            RingInner::Rsa(key) => {
                let mut out = vec![0u8; key.public().modulus_len()];
                key.sign(&signature::RSA_PKCS1_SHA256, &self.rng, message, &mut out)
                    .map_err(|_| KeyError::SignFailed)?;
                Ok(out)
            }
            RingInner::Ecdsa(key) => key
                .sign(&self.rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| KeyError::SignFailed),
        }
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn max_signature_len(&self) -> usize {
        let modulus = match &self.inner {
            RingInner::Rsa(key) => key.public().modulus_len(),
            RingInner::Ecdsa(_) => 0,
        };
        self.algorithm.max_signature_len(modulus)
    }

    fn public_key(&self) -> &[u8] {
        match &self.inner {
            RingInner::Rsa(key) => key.public().as_ref(),
            RingInner::Ecdsa(key) => key.public_key().as_ref(),
        }
    }
}

/// A key with its certificate chain (signer first, then issuing CAs; the root is optional).
#[derive(Clone, Debug)]
pub struct Credential {
    /// The private key.
    pub key: Arc<dyn SigningKey>,
    /// DER certificates, signer first.
    pub chain: Vec<Vec<u8>>,
}

impl Credential {
    /// Pairs a key with its chain, checking the key belongs to the first certificate.
    pub fn new(key: Arc<dyn SigningKey>, chain: Vec<Vec<u8>>) -> Result<Self, KeyError> {
        let leaf = chain
            .first()
            .ok_or_else(|| KeyError::NoCertificate("chain".into()))?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf)
            .map_err(|e| KeyError::NoCertificate(format!("unparsable certificate: {e}")))?;
        if cert.public_key().subject_public_key.data.as_ref() != key.public_key() {
            return Err(KeyError::Mismatch(cert.subject().to_string()));
        }
        Ok(Self { key, chain })
    }

    /// Loads a PKCS#8 PEM key and a PEM file with the signer certificate followed by its CAs.
    pub fn load(key_path: &Path, chain_path: &Path) -> Result<Self, KeyError> {
        let key = RingKey::load(key_path)?;
        let chain = read_pem_certificates(chain_path)?;
        Self::new(Arc::new(key), chain)
    }

    /// The signer certificate (DER).
    pub fn certificate(&self) -> &[u8] {
        self.chain.first().map(Vec::as_slice).unwrap_or_default()
    }
}

/// Reads every `CERTIFICATE` block of a PEM file, in order.
pub fn read_pem_certificates(path: &Path) -> Result<Vec<Vec<u8>>, KeyError> {
    let text = std::fs::read(path).map_err(|source| KeyError::Read {
        path: path.display().to_string(),
        source,
    })?;
    let certs: Vec<Vec<u8>> = pem::parse_many(&text)
        .map_err(|_| KeyError::NoCertificate(path.display().to_string()))?
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| b.into_contents())
        .collect();
    if certs.is_empty() {
        return Err(KeyError::NoCertificate(path.display().to_string()));
    }
    Ok(certs)
}

impl KeyError {
    /// The kind of this failure: always internal (a signing key that cannot be loaded or used is the server's problem).
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Internal
    }
}
