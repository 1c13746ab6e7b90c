//! Checkpoints: a signed statement "block N of chain C has this hash and closes entry M",
//! and the [`Sealer`] that signs them.
//!
//! The signature covers [`Checkpoint::signed_bytes`], a fixed line format independent of
//! JSON formatting. It is RSA PKCS#1 v1.5 with SHA-256 or ECDSA P-256/SHA-256 (P-384/SHA-384
//! too), as [`KeyAlgorithm`] says, and is checked with ring against the public key of the
//! embedded signer certificate.

use std::sync::Arc;

use ring::signature::{self, UnparsedPublicKey};
use serde::{Deserialize, Serialize};

use super::error::AuditError;
use super::model::FORMAT;
use crate::hash::sha256_hex;
use crate::pki::key::Credential;

/// The credential that seals one chain (an agency code, or `_none`), as in force now.
pub type SealKeys = Arc<dyn Fn(&str) -> Option<Credential> + Send + Sync>;

/// Signs checkpoints with a credential (key and certificate chain): one for every chain,
/// or one per chain (each agency's chain with that agency's key).
#[derive(Clone)]
pub struct Sealer {
    keys: SealKeys,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer").finish_non_exhaustive()
    }
}

impl Sealer {
    /// A sealer signing every chain with `credential`'s key; its first certificate is
    /// embedded in every checkpoint.
    pub fn new(credential: Credential) -> Self {
        Self {
            keys: Arc::new(move |_: &str| Some(credential.clone())),
        }
    }

    /// A sealer signing each chain with the credential `keys` gives for it.
    pub fn per_chain(keys: SealKeys) -> Self {
        Self { keys }
    }

    /// The signer certificate (DER) embedded in the checkpoints of `chain`.
    pub fn certificate(&self, chain: &str) -> Option<Vec<u8>> {
        (self.keys)(chain).map(|c| c.certificate().to_vec())
    }

    /// Signs a checkpoint's fields and fills `algorithm`, `signature` and `signer`.
    pub fn seal(&self, mut checkpoint: Checkpoint) -> Result<Checkpoint, AuditError> {
        let credential = (self.keys)(&checkpoint.chain)
            .ok_or_else(|| AuditError::NoSealKey(checkpoint.chain.clone()))?;
        checkpoint.algorithm = credential.key.algorithm().name().to_string();
        checkpoint.signer = hex::encode(credential.certificate());
        let signature = credential.key.sign(&checkpoint.signed_bytes())?;
        checkpoint.signature = hex::encode(signature);
        Ok(checkpoint)
    }
}

/// One checkpoint as stored under `audit/<chain>/checkpoints/<seq:020>.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Format version.
    pub format: u32,
    /// The chain sealed.
    pub chain: String,
    /// The block sealed (also in the key).
    pub seq: u64,
    /// Hex SHA-256 of that block's stored bytes.
    pub block_hash: String,
    /// Entries in the chain up to and including that block.
    pub entries: u64,
    /// Running hash of the last entry of that block (empty when the chain has none).
    pub entry_hash: String,
    /// When the checkpoint was made (RFC 3339).
    pub at: String,
    /// `rsa-pkcs1-sha256`, `ecdsa-p256-sha256` or `ecdsa-p384-sha384`.
    pub algorithm: String,
    /// Hex of the signature over [`Checkpoint::signed_bytes`].
    pub signature: String,
    /// Hex of the signer certificate (DER).
    pub signer: String,
}

impl Checkpoint {
    /// An unsigned checkpoint of block `seq`.
    pub fn unsigned(
        chain: &str,
        seq: u64,
        block_hash: String,
        entries: u64,
        entry_hash: String,
        at: String,
    ) -> Self {
        Self {
            format: FORMAT,
            chain: chain.to_string(),
            seq,
            block_hash,
            entries,
            entry_hash,
            at,
            algorithm: String::new(),
            signature: String::new(),
            signer: String::new(),
        }
    }

    /// The bytes the signature covers: one `name:value` line per field, in a fixed order.
    pub fn signed_bytes(&self) -> Vec<u8> {
        format!(
            "saoy audit checkpoint v{}\nchain:{}\nseq:{}\nblock_hash:{}\nentries:{}\nentry_hash:{}\nat:{}\nalgorithm:{}\n",
            self.format,
            self.chain,
            self.seq,
            self.block_hash,
            self.entries,
            self.entry_hash,
            self.at,
            self.algorithm
        )
        .into_bytes()
    }

    /// The signer certificate (DER), if the hex is readable.
    pub fn signer_der(&self) -> Option<Vec<u8>> {
        hex::decode(&self.signer).ok()
    }

    /// Hex SHA-256 of the signer certificate ("" when unreadable).
    pub fn signer_sha256(&self) -> String {
        self.signer_der()
            .map(|der| sha256_hex(&der))
            .unwrap_or_default()
    }

    /// Checks the signature against the embedded certificate's public key; `Err` says why
    /// it does not hold.
    pub fn check_signature(&self) -> Result<(), String> {
        let der = self
            .signer_der()
            .ok_or("the signer certificate is not hex")?;
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| format!("the signer certificate does not parse: {e}"))?;
        let key = cert.public_key().subject_public_key.data.as_ref();
        let alg: &dyn signature::VerificationAlgorithm = match self.algorithm.as_str() {
            "rsa-pkcs1-sha256" => &signature::RSA_PKCS1_2048_8192_SHA256,
            "rsa-pss-sha256" => &signature::RSA_PSS_2048_8192_SHA256,
            "ecdsa-p256-sha256" => &signature::ECDSA_P256_SHA256_ASN1,
            "ecdsa-p384-sha384" => &signature::ECDSA_P384_SHA384_ASN1,
            other => return Err(format!("unknown signature algorithm {other:?}")),
        };
        let sig = hex::decode(&self.signature).map_err(|_| "the signature is not hex")?;
        UnparsedPublicKey::new(alg, key)
            .verify(&self.signed_bytes(), &sig)
            .map_err(|_| "the signature does not verify with the signer certificate".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sealer(name: &str) -> Sealer {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-test");
        let credential = Credential::load(
            &dir.join(format!("{name}.key.pem")),
            &dir.join(format!("{name}-chain.pem")),
        )
        .expect("test credential");
        Sealer::new(credential)
    }

    fn sample() -> Checkpoint {
        Checkpoint::unsigned(
            "H72",
            3,
            "ab".repeat(32),
            700,
            "cd".repeat(32),
            "2026-01-01T00:00:00+07:00".into(),
        )
    }

    #[test]
    fn rsa_and_ecdsa_seals_verify_and_edits_do_not() {
        for name in ["agency", "certifier"] {
            let sealed = sealer(name).seal(sample()).unwrap();
            assert_eq!(sealed.check_signature(), Ok(()), "{name}");
            let mut edited = sealed.clone();
            edited.entries = 699;
            assert!(edited.check_signature().is_err(), "{name}");
            let mut other = sealed.clone();
            other.signer = hex::encode(sealer("other-signer").certificate("H72").unwrap());
            assert!(other.check_signature().is_err(), "{name}");
            let mut garbage = sealed;
            garbage.signature = "zz".into();
            assert!(garbage.check_signature().is_err());
        }
    }
}
