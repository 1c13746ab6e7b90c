//! Digests and signature checks: one function verifies any signature given the algorithm
//! identifier, the signer's SubjectPublicKeyInfo and the signed bytes (CMS, certificates, CRLs).

pub mod digests;
pub mod pss;

pub use digests::{CryptoError, DigestAlg};

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ring::digest;
use ring::signature::{self, UnparsedPublicKey, VerificationAlgorithm};

use crate::asn1::{self, tag};

/// An AlgorithmIdentifier: OID plus the raw DER of its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlgId {
    /// Dotted OID.
    pub oid: String,
    /// Raw parameters element, if present.
    pub params: Option<Vec<u8>>,
}

impl AlgId {
    /// Decodes an AlgorithmIdentifier SEQUENCE.
    pub fn from_tlv(t: &asn1::Tlv<'_>) -> Result<Self, asn1::Asn1Error> {
        let c = t.seq()?;
        let oid = c
            .first()
            .ok_or(asn1::Asn1Error::Unexpected("empty AlgorithmIdentifier"))?
            .oid()?;
        if c.len() > 2 {
            return Err(asn1::Asn1Error::Unexpected(
                "AlgorithmIdentifier with more than two elements",
            ));
        }
        let params = c.get(1).map(|p| p.raw.to_vec());
        // Digests, RSA PKCS#1 v1.5 and ECDSA take no parameters (NULL or absent, RFC 4055,
        // 5754, 5758): anything else there is unsigned bytes no reader may depend on.
        let no_params = oid == "1.3.14.3.2.26"
            || oid.starts_with("2.16.840.1.101.3.4.2.")
            || oid.starts_with("1.2.840.10045.4.3.")
            || (oid.starts_with("1.2.840.113549.1.1.") && oid != "1.2.840.113549.1.1.10");
        if no_params && !matches!(params.as_deref(), None | Some([0x05, 0x00])) {
            return Err(asn1::Asn1Error::Unexpected(
                "AlgorithmIdentifier parameters that the algorithm does not take",
            ));
        }
        Ok(AlgId { oid, params })
    }
}

/// Outcome of a successful verification: notes on algorithm strength.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// A hash or key size below today's constraints (SHA-1, RSA < 2048).
    pub weak: Option<String>,
}

enum KeyKind {
    Rsa { modulus_bits: usize },
    EcP256,
    EcP384,
    Ed25519,
}

/// Verifies `sig` over `msg` with the key in `spki_der` (a SubjectPublicKeyInfo).
/// `digest_hint` is the digest to use when the algorithm OID names only the key type
/// (e.g. CMS `rsaEncryption` with a separate digestAlgorithm).
pub fn verify_signature(
    alg: &AlgId,
    digest_hint: Option<DigestAlg>,
    spki_der: &[u8],
    msg: &[u8],
    sig: &[u8],
) -> Result<Verified, CryptoError> {
    let (key_kind, key_bytes) = parse_spki(spki_der)?;
    let (scheme, hash) = scheme_of(alg, digest_hint)?;
    let mut weak = None;
    if hash == DigestAlg::Sha1 {
        weak = Some("SHA-1 digest".to_string());
    }
    if let (Scheme::Pss, KeyKind::Rsa { modulus_bits }) = (&scheme, &key_kind) {
        let salt = pss_salt(alg.params.as_deref());
        if salt != hash_len(hash) {
            if *modulus_bits < 2048 {
                return Err(CryptoError::Unsupported(format!(
                    "RSA-PSS with a {modulus_bits}-bit key"
                )));
            }
            crate::crypto::pss::verify(key_bytes, hash, salt, msg, sig)?;
            return Ok(Verified { weak });
        }
    }
    if let Scheme::Ecdsa = scheme
        && let Some(curve) = EcCurve::of(&key_kind)
        && !curve.ring_supports(hash)
    {
        // ring pairs each curve with SHA-256/384 only: verify the digest with RustCrypto.
        ecdsa_prehash(curve, key_bytes, &hash.digest(msg), sig)?;
        return Ok(Verified { weak });
    }
    let algorithm: &'static dyn VerificationAlgorithm = match (&scheme, &key_kind) {
        (Scheme::Pkcs1, KeyKind::Rsa { modulus_bits }) => {
            let legacy = *modulus_bits < 2048;
            if legacy {
                weak = Some(format!("RSA key of {modulus_bits} bits"));
            }
            match (hash, legacy) {
                (DigestAlg::Sha1, _) => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                (DigestAlg::Sha256, false) => &signature::RSA_PKCS1_2048_8192_SHA256,
                (DigestAlg::Sha384, false) => &signature::RSA_PKCS1_2048_8192_SHA384,
                (DigestAlg::Sha512, false) => &signature::RSA_PKCS1_2048_8192_SHA512,
                (DigestAlg::Sha256, true) => {
                    &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY
                }
                (DigestAlg::Sha512, true) => {
                    &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY
                }
                (DigestAlg::Sha384, true) => {
                    return Err(CryptoError::Unsupported(
                        "RSA key below 2048 bits with SHA-384".into(),
                    ));
                }
            }
        }
        (Scheme::Pss, KeyKind::Rsa { modulus_bits }) => {
            if *modulus_bits < 2048 {
                return Err(CryptoError::Unsupported(format!(
                    "RSA-PSS with a {modulus_bits}-bit key"
                )));
            }
            match hash {
                DigestAlg::Sha256 => &signature::RSA_PSS_2048_8192_SHA256,
                DigestAlg::Sha384 => &signature::RSA_PSS_2048_8192_SHA384,
                DigestAlg::Sha512 => &signature::RSA_PSS_2048_8192_SHA512,
                DigestAlg::Sha1 => {
                    return Err(CryptoError::Unsupported("RSA-PSS with SHA-1".into()));
                }
            }
        }
        (Scheme::Ecdsa, KeyKind::EcP256) => match hash {
            DigestAlg::Sha256 => &signature::ECDSA_P256_SHA256_ASN1,
            DigestAlg::Sha384 => &signature::ECDSA_P256_SHA384_ASN1,
            other => {
                return Err(CryptoError::Unsupported(format!(
                    "ECDSA P-256 with {}",
                    other.name()
                )));
            }
        },
        (Scheme::Ecdsa, KeyKind::EcP384) => match hash {
            DigestAlg::Sha256 => &signature::ECDSA_P384_SHA256_ASN1,
            DigestAlg::Sha384 => &signature::ECDSA_P384_SHA384_ASN1,
            other => {
                return Err(CryptoError::Unsupported(format!(
                    "ECDSA P-384 with {}",
                    other.name()
                )));
            }
        },
        (Scheme::Ed25519, KeyKind::Ed25519) => &signature::ED25519,
        _ => {
            return Err(CryptoError::Unsupported(format!(
                "signature algorithm {} does not match the key type",
                alg.oid
            )));
        }
    };
    UnparsedPublicKey::new(algorithm, key_bytes)
        .verify(msg, sig)
        .map_err(|_| CryptoError::BadSignature)?;
    Ok(Verified { weak })
}

/// The NIST curves ECDSA keys may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EcCurve {
    P256,
    P384,
}

impl EcCurve {
    fn of(k: &KeyKind) -> Option<Self> {
        match k {
            KeyKind::EcP256 => Some(EcCurve::P256),
            KeyKind::EcP384 => Some(EcCurve::P384),
            _ => None,
        }
    }

    /// ring verifies both curves with SHA-256 and SHA-384 only.
    fn ring_supports(self, hash: DigestAlg) -> bool {
        matches!(hash, DigestAlg::Sha256 | DigestAlg::Sha384)
    }
}

/// Verifies a DER ECDSA signature over a message digest (any length: the digest is truncated
/// to the curve's order size, or left-padded, as FIPS 186-4 says) with a SEC1 public key.
fn ecdsa_prehash(
    curve: EcCurve,
    sec1_key: &[u8],
    digest: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    use p256::ecdsa::signature::hazmat::PrehashVerifier;
    let bad_key = |_| CryptoError::Malformed("invalid elliptic-curve public key".into());
    match curve {
        EcCurve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(sec1_key).map_err(bad_key)?;
            let sig = p256::ecdsa::DerSignature::from_bytes(sig)
                .map_err(|_| CryptoError::BadSignature)?;
            key.verify_prehash(digest, &sig)
                .map_err(|_| CryptoError::BadSignature)
        }
        EcCurve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(sec1_key).map_err(bad_key)?;
            let sig = p384::ecdsa::DerSignature::from_bytes(sig)
                .map_err(|_| CryptoError::BadSignature)?;
            key.verify_prehash(digest, &sig)
                .map_err(|_| CryptoError::BadSignature)
        }
    }
}

/// Verifies a signed X.509 structure (certificate or CRL: SEQUENCE { tbs, algorithm, BIT STRING })
/// with the issuer's SubjectPublicKeyInfo.
///
/// The result depends only on the two byte strings, so it is remembered: within one
/// verification every outcome (see [`memo_scope`]: the chain and CRLs shared by several
/// signatures are checked once), and across verifications the successes, in the
/// [`SignatureMemo`] of the policy in use. Nothing time-dependent is remembered: validity
/// periods, CRL freshness and revocation are judged by the callers every time.
pub fn verify_signed_structure(raw: &[u8], issuer_spki: &[u8]) -> Result<Verified, CryptoError> {
    let key: MemoKey = (sha256(raw), sha256(issuer_spki));
    let hit = MEMO.with(|m| {
        let m = m.borrow();
        let scope = m.as_ref()?;
        if let Some(r) = scope.local.get(&key) {
            return Some(r.clone());
        }
        scope.shared.get(&key).map(Ok)
    });
    if let Some(hit) = hit {
        return hit;
    }
    let res = verify_signed_structure_uncached(raw, issuer_spki);
    MEMO.with(|m| {
        if let Some(scope) = m.borrow_mut().as_mut() {
            if scope.local.len() < LOCAL_CAP {
                scope.local.insert(key, res.clone());
            }
            if let Ok(v) = &res {
                scope.shared.insert(key, v.clone());
            }
        }
    });
    res
}

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// (SHA-256 of the signed structure's DER, SHA-256 of the issuer's SubjectPublicKeyInfo).
type MemoKey = ([u8; 32], [u8; 32]);

/// Most outcomes remembered within one verification.
const LOCAL_CAP: usize = 4096;

/// Most successes a [`SignatureMemo`] holds; when full it starts afresh.
const SHARED_CAP: usize = 4096;

/// "This certificate or CRL (by SHA-256 of its DER) is validly signed by that key (by SHA-256
/// of its SubjectPublicKeyInfo)", remembered across verifications. Clones share one memo.
/// Only successful checks are stored, at most [`SHARED_CAP`] of them.
#[derive(Clone, Default)]
pub struct SignatureMemo(Arc<Mutex<HashMap<MemoKey, Verified>>>);

impl SignatureMemo {
    fn lock(&self) -> MutexGuard<'_, HashMap<MemoKey, Verified>> {
        // The map is always consistent (single inserts), so a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, key: &MemoKey) -> Option<Verified> {
        self.lock().get(key).cloned()
    }

    fn insert(&self, key: MemoKey, v: Verified) {
        let mut m = self.lock();
        if m.len() >= SHARED_CAP && !m.contains_key(&key) {
            m.clear();
        }
        m.insert(key, v);
    }

    /// How many successes are remembered.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

impl std::fmt::Debug for SignatureMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignatureMemo")
            .field("entries", &self.len())
            .finish()
    }
}

struct Scope {
    /// Every outcome within this verification (failures too).
    local: HashMap<MemoKey, Result<Verified, CryptoError>>,
    /// Successes shared across verifications.
    shared: SignatureMemo,
}

thread_local! {
    static MEMO: RefCell<Option<Scope>> = const { RefCell::new(None) };
}

/// Runs `f` with signature results of signed structures remembered: all of them until `f`
/// returns, the successes also in `shared`.
pub fn memo_scope<R>(shared: &SignatureMemo, f: impl FnOnce() -> R) -> R {
    struct Reset(Option<Scope>);
    impl Drop for Reset {
        fn drop(&mut self) {
            let prev = self.0.take();
            MEMO.with(|m| *m.borrow_mut() = prev);
        }
    }
    let prev = MEMO.with(|m| {
        m.borrow_mut().replace(Scope {
            local: HashMap::new(),
            shared: shared.clone(),
        })
    });
    let _reset = Reset(prev);
    f()
}

fn verify_signed_structure_uncached(
    raw: &[u8],
    issuer_spki: &[u8],
) -> Result<Verified, CryptoError> {
    let malformed = |e: asn1::Asn1Error| CryptoError::Malformed(e.to_string());
    let (outer, _) = asn1::parse(raw).map_err(malformed)?;
    let c = outer.seq().map_err(malformed)?;
    let (Some(tbs), Some(alg), Some(sig)) = (c.first(), c.get(1), c.get(2)) else {
        return Err(CryptoError::Malformed(
            "signed structure needs three parts".into(),
        ));
    };
    let alg = AlgId::from_tlv(alg).map_err(malformed)?;
    let sig = asn1::bit_string_bytes(sig).map_err(malformed)?;
    verify_signature(&alg, None, issuer_spki, tbs.raw, sig)
}

enum Scheme {
    Pkcs1,
    Pss,
    Ecdsa,
    Ed25519,
}

fn scheme_of(alg: &AlgId, hint: Option<DigestAlg>) -> Result<(Scheme, DigestAlg), CryptoError> {
    let need_hint =
        || hint.ok_or_else(|| CryptoError::Unsupported(format!("{} without a digest", alg.oid)));
    Ok(match alg.oid.as_str() {
        "1.2.840.113549.1.1.1" => (Scheme::Pkcs1, need_hint()?),
        "1.2.840.113549.1.1.5" => (Scheme::Pkcs1, DigestAlg::Sha1),
        "1.2.840.113549.1.1.11" => (Scheme::Pkcs1, DigestAlg::Sha256),
        "1.2.840.113549.1.1.12" => (Scheme::Pkcs1, DigestAlg::Sha384),
        "1.2.840.113549.1.1.13" => (Scheme::Pkcs1, DigestAlg::Sha512),
        "1.2.840.113549.1.1.10" => (Scheme::Pss, pss_hash(alg.params.as_deref())?),
        "1.2.840.10045.4.1" => (Scheme::Ecdsa, DigestAlg::Sha1),
        "1.2.840.10045.4.3.2" => (Scheme::Ecdsa, DigestAlg::Sha256),
        "1.2.840.10045.4.3.3" => (Scheme::Ecdsa, DigestAlg::Sha384),
        "1.2.840.10045.4.3.4" => (Scheme::Ecdsa, DigestAlg::Sha512),
        "1.2.840.10045.2.1" => (Scheme::Ecdsa, need_hint()?),
        "1.3.101.112" => (Scheme::Ed25519, hint.unwrap_or(DigestAlg::Sha512)),
        other => {
            return Err(CryptoError::Unsupported(format!(
                "signature algorithm {other}"
            )));
        }
    })
}

/// RSASSA-PSS parameters: ring supports MGF1 with the same hash and salt = hash length.
fn pss_hash(params: Option<&[u8]>) -> Result<DigestAlg, CryptoError> {
    let malformed = |e: asn1::Asn1Error| CryptoError::Malformed(e.to_string());
    let params =
        params.ok_or_else(|| CryptoError::Malformed("RSA-PSS without parameters".into()))?;
    let (t, _) = asn1::parse(params).map_err(malformed)?;
    let mut hash = DigestAlg::Sha1;
    let mut mgf_hash = DigestAlg::Sha1;
    let mut salt = 20u64;
    for f in t.seq().map_err(malformed)? {
        let inner = f.children().map_err(malformed)?;
        let Some(first) = inner.first() else { continue };
        if f.is_context(0) {
            let a = AlgId::from_tlv(first).map_err(malformed)?;
            hash = DigestAlg::from_oid(&a.oid)
                .ok_or_else(|| CryptoError::Unsupported(format!("PSS hash {}", a.oid)))?;
        } else if f.is_context(1) {
            let mgf = first.seq().map_err(malformed)?;
            if let Some(h) = mgf.get(1) {
                let a = AlgId::from_tlv(h).map_err(malformed)?;
                mgf_hash = DigestAlg::from_oid(&a.oid)
                    .ok_or_else(|| CryptoError::Unsupported(format!("MGF1 hash {}", a.oid)))?;
            }
        } else if f.is_context(2) {
            salt = first.small_uint().map_err(malformed)?;
        }
    }
    // Any salt length is accepted (see `pss_salt`); 0 to 1024 bytes is plausible.
    if mgf_hash != hash || salt > 1024 {
        return Err(CryptoError::Unsupported(
            "RSA-PSS with a different MGF1 hash or an implausible salt length".into(),
        ));
    }
    Ok(hash)
}

fn hash_len(h: DigestAlg) -> usize {
    match h {
        DigestAlg::Sha1 => 20,
        DigestAlg::Sha256 => 32,
        DigestAlg::Sha384 => 48,
        DigestAlg::Sha512 => 64,
    }
}

/// The salt length of RSASSA-PSS-params (default 20); read after `pss_hash` accepted them.
fn pss_salt(params: Option<&[u8]>) -> usize {
    let Some((t, _)) = params.and_then(|p| asn1::parse(p).ok()) else {
        return 20;
    };
    t.seq()
        .ok()
        .and_then(|fields| {
            fields
                .iter()
                .find(|f| f.is_context(2))
                .and_then(|f| f.children().ok())
                .and_then(|c| c.first().and_then(|x| x.small_uint().ok()))
        })
        .and_then(|s| usize::try_from(s).ok())
        .unwrap_or(20)
}

/// The subjectPublicKey bits of a SubjectPublicKeyInfo (what OCSP's key hashes cover).
pub fn spki_public_key(spki: &[u8]) -> Result<&[u8], CryptoError> {
    let malformed = |e: asn1::Asn1Error| CryptoError::Malformed(e.to_string());
    let (t, _) = asn1::parse(spki).map_err(malformed)?;
    let c = t.seq().map_err(malformed)?;
    let key = c
        .get(1)
        .ok_or_else(|| CryptoError::Malformed("SubjectPublicKeyInfo needs two parts".into()))?;
    asn1::bit_string_bytes(key).map_err(malformed)
}

fn parse_spki(spki: &[u8]) -> Result<(KeyKind, &[u8]), CryptoError> {
    let malformed = |e: asn1::Asn1Error| CryptoError::Malformed(e.to_string());
    let (t, _) = asn1::parse(spki).map_err(malformed)?;
    let c = t.seq().map_err(malformed)?;
    let (Some(alg), Some(key)) = (c.first(), c.get(1)) else {
        return Err(CryptoError::Malformed(
            "SubjectPublicKeyInfo needs two parts".into(),
        ));
    };
    let alg = AlgId::from_tlv(alg).map_err(malformed)?;
    let key = asn1::bit_string_bytes(key).map_err(malformed)?;
    match alg.oid.as_str() {
        "1.2.840.113549.1.1.1" | "1.2.840.113549.1.1.10" => {
            let (k, _) = asn1::parse(key).map_err(malformed)?;
            let parts = k.seq().map_err(malformed)?;
            let n = parts
                .first()
                .filter(|n| n.is(tag::INTEGER))
                .ok_or_else(|| CryptoError::Malformed("RSA key without modulus".into()))?;
            let significant: &[u8] = match n.value.iter().position(|b| *b != 0) {
                Some(p) => n.value.get(p..).unwrap_or_default(),
                None => &[],
            };
            let bits = significant.len() * 8
                - significant
                    .first()
                    .map_or(0, |b| b.leading_zeros() as usize);
            Ok((KeyKind::Rsa { modulus_bits: bits }, key))
        }
        "1.2.840.10045.2.1" => {
            let curve = alg
                .params
                .as_deref()
                .and_then(|p| asn1::parse(p).ok())
                .and_then(|(t, _)| t.oid().ok())
                .unwrap_or_default();
            match curve.as_str() {
                "1.2.840.10045.3.1.7" => Ok((KeyKind::EcP256, key)),
                "1.3.132.0.34" => Ok((KeyKind::EcP384, key)),
                other => Err(CryptoError::Unsupported(format!("elliptic curve {other}"))),
            }
        }
        "1.3.101.112" => Ok((KeyKind::Ed25519, key)),
        other => Err(CryptoError::Unsupported(format!(
            "public key algorithm {other}"
        ))),
    }
}

/// Signed content: digested by parts (a file's byte ranges are streamed, never joined).
pub trait Signed {
    /// The digest of the whole content.
    fn digest(&self, alg: DigestAlg) -> Vec<u8>;
    /// The content in one piece (signatures without signed attributes only).
    fn concat(&self) -> Vec<u8>;
}

impl Signed for [&[u8]] {
    fn digest(&self, alg: DigestAlg) -> Vec<u8> {
        alg.digest_parts(self)
    }
    fn concat(&self) -> Vec<u8> {
        <[&[u8]]>::concat(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

    fn p256_spki(public: &[u8]) -> Vec<u8> {
        // SEQUENCE { SEQUENCE { ecPublicKey, prime256v1 }, BIT STRING }
        let mut alg = vec![
            0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
        ];
        alg.extend_from_slice(&[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]);
        let mut bits = vec![0x03, (public.len() + 1) as u8, 0x00];
        bits.extend_from_slice(public);
        let mut out = vec![0x30, (alg.len() + bits.len()) as u8];
        out.extend(alg);
        out.extend(bits);
        out
    }

    #[test]
    fn ecdsa_roundtrip_and_tamper() {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let sig = kp.sign(&rng, b"hello").unwrap();
        let spki = p256_spki(kp.public_key().as_ref());
        let alg = AlgId {
            oid: "1.2.840.10045.4.3.2".into(),
            params: None,
        };
        assert!(verify_signature(&alg, None, &spki, b"hello", sig.as_ref()).is_ok());
        assert_eq!(
            verify_signature(&alg, None, &spki, b"hellO", sig.as_ref()),
            Err(CryptoError::BadSignature)
        );
        let sha512 = AlgId {
            oid: "1.2.840.10045.4.3.4".into(),
            params: None,
        };
        // A SHA-256 signature read as SHA-512 (verified by RustCrypto) does not verify.
        assert_eq!(
            verify_signature(&sha512, None, &spki, b"hello", sig.as_ref()),
            Err(CryptoError::BadSignature)
        );
    }

    fn ec_spki(curve_oid: &[u8], public: &[u8]) -> Vec<u8> {
        // SEQUENCE { SEQUENCE { ecPublicKey, curve }, BIT STRING }
        let mut alg = vec![0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
        alg.extend_from_slice(curve_oid);
        let mut body = vec![0x30, alg.len() as u8];
        body.extend(alg);
        body.extend_from_slice(&[0x03, (public.len() + 1) as u8, 0x00]);
        body.extend_from_slice(public);
        let mut out = vec![0x30, body.len() as u8];
        out.extend(body);
        out
    }

    const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
    const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

    fn ecdsa_alg(hash: DigestAlg) -> AlgId {
        let oid = match hash {
            DigestAlg::Sha1 => "1.2.840.10045.4.1",
            DigestAlg::Sha256 => "1.2.840.10045.4.3.2",
            DigestAlg::Sha384 => "1.2.840.10045.4.3.3",
            DigestAlg::Sha512 => "1.2.840.10045.4.3.4",
        };
        AlgId {
            oid: oid.into(),
            params: None,
        }
    }

    /// (SubjectPublicKeyInfo, DER signature of SHA-x(msg)) from a fixed key on each curve.
    fn ec_sign(p384: bool, hash: DigestAlg, msg: &[u8]) -> (Vec<u8>, Vec<u8>) {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let digest = hash.digest(msg);
        if p384 {
            let k = p384::ecdsa::SigningKey::from_slice(&[0x5a; 48]).expect("P-384 scalar");
            let s: p384::ecdsa::Signature = k.sign_prehash(&digest).expect("sign");
            let public = k.verifying_key().to_encoded_point(false);
            (
                ec_spki(P384_OID, public.as_bytes()),
                s.to_der().as_bytes().to_vec(),
            )
        } else {
            let k = p256::ecdsa::SigningKey::from_slice(&[0x5a; 32]).expect("P-256 scalar");
            let s: p256::ecdsa::Signature = k.sign_prehash(&digest).expect("sign");
            let public = k.verifying_key().to_encoded_point(false);
            (
                ec_spki(P256_OID, public.as_bytes()),
                s.to_der().as_bytes().to_vec(),
            )
        }
    }

    #[test]
    fn ecdsa_every_sha2_on_both_curves() {
        for p384 in [false, true] {
            for hash in [DigestAlg::Sha256, DigestAlg::Sha384, DigestAlg::Sha512] {
                let (spki, sig) = ec_sign(p384, hash, b"certified copy");
                let alg = ecdsa_alg(hash);
                let what = format!("P-{} {}", if p384 { 384 } else { 256 }, hash.name());
                assert_eq!(
                    verify_signature(&alg, None, &spki, b"certified copy", &sig),
                    Ok(Verified { weak: None }),
                    "{what}"
                );
                // CMS form: ecPublicKey as the signature algorithm, the digest beside it.
                let bare = AlgId {
                    oid: "1.2.840.10045.2.1".into(),
                    params: None,
                };
                assert!(
                    verify_signature(&bare, Some(hash), &spki, b"certified copy", &sig).is_ok(),
                    "{what} with a digest hint"
                );
                assert_eq!(
                    verify_signature(&alg, None, &spki, b"certified cop!", &sig),
                    Err(CryptoError::BadSignature),
                    "{what} tampered"
                );
                let mut flipped = sig.clone();
                if let Some(b) = flipped.last_mut() {
                    *b ^= 1;
                }
                assert_eq!(
                    verify_signature(&alg, None, &spki, b"certified copy", &flipped),
                    Err(CryptoError::BadSignature),
                    "{what} flipped"
                );
                assert_eq!(
                    verify_signature(&alg, None, &spki, b"certified copy", b"\x30\x00"),
                    Err(CryptoError::BadSignature),
                    "{what} garbage signature"
                );
            }
        }
    }

    #[test]
    fn ecdsa_sha1_verifies_but_is_weak() {
        let (spki, sig) = ec_sign(false, DigestAlg::Sha1, b"old");
        let v = verify_signature(&ecdsa_alg(DigestAlg::Sha1), None, &spki, b"old", &sig);
        assert!(v.is_ok_and(|v| v.weak.is_some()));
    }

    #[test]
    fn ecdsa_bad_point_is_malformed() {
        let spki = ec_spki(P256_OID, &[0x04; 65]);
        assert!(matches!(
            verify_signature(
                &ecdsa_alg(DigestAlg::Sha512),
                None,
                &spki,
                b"x",
                b"\x30\x00"
            ),
            Err(CryptoError::Malformed(_))
        ));
    }

    #[test]
    fn garbage_key_is_malformed() {
        let alg = AlgId {
            oid: "1.2.840.113549.1.1.11".into(),
            params: None,
        };
        assert!(matches!(
            verify_signature(&alg, None, &[0x30, 0x00], b"x", b"y"),
            Err(CryptoError::Malformed(_))
        ));
    }
}
