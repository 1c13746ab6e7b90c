//! Digest algorithms and the errors of digest and signature checks: the leaf of `crypto`
//! that both the signature checks and RSASSA-PSS build on.

use ring::digest;
use thiserror::Error;

/// Errors from digest and signature checks.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The algorithm (or key type / curve / parameter combination) is not supported.
    #[error("unsupported algorithm: {0}")]
    Unsupported(String),
    /// The key or algorithm parameters could not be decoded.
    #[error("malformed key or parameters: {0}")]
    Malformed(String),
    /// The signature value does not verify.
    #[error("signature does not verify")]
    BadSignature,
}

/// Digest algorithms understood by the verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestAlg {
    /// SHA-1: broken for signatures; accepted only to report CRYPTO_CONSTRAINTS_FAILURE.
    Sha1,
    /// SHA-256
    Sha256,
    /// SHA-384
    Sha384,
    /// SHA-512
    Sha512,
}

impl DigestAlg {
    /// From a digest algorithm OID (also accepts the RSA-with-hash OIDs some signers put there).
    pub fn from_oid(oid: &str) -> Option<Self> {
        match oid {
            "1.3.14.3.2.26" | "1.2.840.113549.1.1.5" => Some(DigestAlg::Sha1),
            "2.16.840.1.101.3.4.2.1" | "1.2.840.113549.1.1.11" => Some(DigestAlg::Sha256),
            "2.16.840.1.101.3.4.2.2" | "1.2.840.113549.1.1.12" => Some(DigestAlg::Sha384),
            "2.16.840.1.101.3.4.2.3" | "1.2.840.113549.1.1.13" => Some(DigestAlg::Sha512),
            _ => None,
        }
    }

    /// Display name.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlg::Sha1 => "SHA-1",
            DigestAlg::Sha256 => "SHA-256",
            DigestAlg::Sha384 => "SHA-384",
            DigestAlg::Sha512 => "SHA-512",
        }
    }

    /// Too weak for new signatures.
    pub fn is_weak(self) -> bool {
        self == DigestAlg::Sha1
    }

    fn ring(self) -> &'static digest::Algorithm {
        match self {
            DigestAlg::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlg::Sha256 => &digest::SHA256,
            DigestAlg::Sha384 => &digest::SHA384,
            DigestAlg::Sha512 => &digest::SHA512,
        }
    }

    /// Digest of the concatenation of `parts`.
    pub fn digest_parts(self, parts: &[&[u8]]) -> Vec<u8> {
        let mut ctx = digest::Context::new(self.ring());
        for p in parts {
            ctx.update(p);
        }
        ctx.finish().as_ref().to_vec()
    }

    /// A streaming digest context.
    pub fn context(self) -> digest::Context {
        digest::Context::new(self.ring())
    }

    /// Digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        self.digest_parts(&[data])
    }
}
