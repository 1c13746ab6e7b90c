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
    /// The key is on its owner's own device: the service cannot sign with it.
    #[error("this key is held on its owner's device and signs only there")]
    External,
    /// A signature value made elsewhere does not verify with the certificate expected.
    #[error("the signature value does not verify with the expected certificate's public key")]
    BadSignature,
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

impl KeyAlgorithm {
    /// The algorithm a key of this certificate signs with, and the longest signature it
    /// makes: RSA (PKCS#1 v1.5, SHA-256), ECDSA P-256 (SHA-256) or P-384 (SHA-384).
    pub fn of_certificate(der: &[u8]) -> Result<(Self, usize), KeyError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| KeyError::NoCertificate(format!("unparsable certificate: {e}")))?;
        let spki = cert.public_key();
        match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                let modulus = rsa.modulus.iter().skip_while(|b| **b == 0).count();
                Ok((
                    KeyAlgorithm::RsaPkcs1Sha256,
                    KeyAlgorithm::RsaPkcs1Sha256.max_signature_len(modulus),
                ))
            }
            Ok(x509_parser::public_key::PublicKey::EC(point)) => {
                let alg = match point.data().len() {
                    65 => KeyAlgorithm::EcdsaP256Sha256,
                    97 => KeyAlgorithm::EcdsaP384Sha384,
                    n => {
                        return Err(KeyError::Unsupported(format!(
                            "an EC public key of {n} bytes (only P-256 and P-384, uncompressed)"
                        )));
                    }
                };
                Ok((alg, alg.max_signature_len(0)))
            }
            _ => Err(KeyError::Unsupported(
                "the certificate's key is neither RSA nor ECDSA P-256/P-384".into(),
            )),
        }
    }

    /// The hash of the document and of the signed attributes that goes with this algorithm
    /// (SHA-384 for P-384, SHA-256 otherwise): CMS declares one digest algorithm, and
    /// validators refuse a SHA-256 digest beside ecdsa-with-SHA384.
    pub fn digest(self) -> &'static ring::digest::Algorithm {
        match self {
            KeyAlgorithm::EcdsaP384Sha384 => &ring::digest::SHA384,
            _ => &ring::digest::SHA256,
        }
    }

    /// Name in messages and stored records: `rsa-pkcs1-sha256`, `ecdsa-p256-sha256`, ...
    pub fn name(self) -> &'static str {
        match self {
            KeyAlgorithm::RsaPkcs1Sha256 => "rsa-pkcs1-sha256",
            KeyAlgorithm::RsaPssSha256 => "rsa-pss-sha256",
            KeyAlgorithm::EcdsaP256Sha256 => "ecdsa-p256-sha256",
            KeyAlgorithm::EcdsaP384Sha384 => "ecdsa-p384-sha384",
        }
    }

    /// The algorithm named by [`KeyAlgorithm::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        [
            KeyAlgorithm::RsaPkcs1Sha256,
            KeyAlgorithm::RsaPssSha256,
            KeyAlgorithm::EcdsaP256Sha256,
            KeyAlgorithm::EcdsaP384Sha384,
        ]
        .into_iter()
        .find(|a| a.name() == name)
    }

    /// Checks that `signature` was made over `message` by the key of certificate `der`
    /// (an ECDSA signature may be DER or the raw r‖s of PKCS#11); returns it as CMS carries
    /// it (DER for ECDSA).
    pub fn check_signature(
        self,
        der: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| KeyError::NoCertificate(format!("unparsable certificate: {e}")))?;
        let public = cert.public_key().subject_public_key.data.as_ref();
        let ok = |alg: &'static dyn signature::VerificationAlgorithm, sig: &[u8]| {
            signature::UnparsedPublicKey::new(alg, public)
                .verify(message, sig)
                .is_ok()
        };
        let (asn1, fixed, width): (
            &'static dyn signature::VerificationAlgorithm,
            &'static dyn signature::VerificationAlgorithm,
            usize,
        ) = match self {
            KeyAlgorithm::RsaPkcs1Sha256 | KeyAlgorithm::RsaPssSha256 => {
                let alg: &'static dyn signature::VerificationAlgorithm = match self {
                    KeyAlgorithm::RsaPssSha256 => &signature::RSA_PSS_2048_8192_SHA256,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                return match ok(alg, signature) {
                    true => Ok(signature.to_vec()),
                    false => Err(KeyError::BadSignature),
                };
            }
            KeyAlgorithm::EcdsaP256Sha256 => (
                &signature::ECDSA_P256_SHA256_ASN1,
                &signature::ECDSA_P256_SHA256_FIXED,
                32,
            ),
            KeyAlgorithm::EcdsaP384Sha384 => (
                &signature::ECDSA_P384_SHA384_ASN1,
                &signature::ECDSA_P384_SHA384_FIXED,
                48,
            ),
        };
        if ok(asn1, signature) {
            return Ok(signature.to_vec());
        }
        if signature.len() == 2 * width && ok(fixed, signature) {
            return Ok(ecdsa_der(&signature[..width], &signature[width..]));
        }
        Err(KeyError::BadSignature)
    }
}

/// DER `Ecdsa-Sig-Value` of the big-endian integers `r` and `s`.
fn ecdsa_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn integer(out: &mut Vec<u8>, v: &[u8]) {
        let v = match v.iter().position(|b| *b != 0) {
            Some(i) => &v[i..],
            None => &[0u8][..],
        };
        let pad = v[0] & 0x80 != 0;
        out.push(0x02);
        out.push((v.len() + usize::from(pad)) as u8);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = Vec::with_capacity(2 * r.len() + 8);
    integer(&mut body, r);
    integer(&mut body, s);
    let mut out = vec![0x30];
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
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

/// A key held on its owner's own device (a certifier's USB token): the service knows its
/// algorithm and public key from the certificate but cannot sign with it; signatures are
/// made elsewhere and checked with [`KeyAlgorithm::check_signature`].
#[derive(Debug)]
pub struct ExternalKey {
    algorithm: KeyAlgorithm,
    max_signature_len: usize,
    public_key: Vec<u8>,
}

impl ExternalKey {
    /// The key of certificate `der`.
    pub fn of_certificate(der: &[u8]) -> Result<Self, KeyError> {
        let (algorithm, max_signature_len) = KeyAlgorithm::of_certificate(der)?;
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| KeyError::NoCertificate(format!("unparsable certificate: {e}")))?;
        Ok(Self {
            algorithm,
            max_signature_len,
            public_key: cert.public_key().subject_public_key.data.to_vec(),
        })
    }
}

impl SigningKey for ExternalKey {
    fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, KeyError> {
        Err(KeyError::External)
    }

    fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    fn max_signature_len(&self) -> usize {
        self.max_signature_len
    }

    fn public_key(&self) -> &[u8] {
        &self.public_key
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
