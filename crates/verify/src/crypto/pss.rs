//! RSASSA-PSS verification for any salt length (RFC 8017, 9.1.2), which ring lacks: pyHanko
//! and others sign with the maximal salt. The RSA operation comes from the `rsa` crate, the
//! digests from ring.

use rsa::BigUint;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::traits::PublicKeyParts;

use crate::crypto::digests::{CryptoError, DigestAlg};

/// Verifies an RSASSA-PSS signature with MGF1 over the same `hash` and salt length `salt`.
/// `pkcs1_key` is the DER RSAPublicKey.
pub fn verify(
    pkcs1_key: &[u8],
    hash: DigestAlg,
    salt: usize,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), CryptoError> {
    let key = rsa::RsaPublicKey::from_pkcs1_der(pkcs1_key)
        .map_err(|e| CryptoError::Malformed(format!("RSA key: {e}")))?;
    let n = key.n();
    let k = n.bits().div_ceil(8);
    if sig.len() != k {
        return Err(CryptoError::BadSignature);
    }
    let s = BigUint::from_bytes_be(sig);
    if &s >= n {
        return Err(CryptoError::BadSignature);
    }
    let m = s.modpow(key.e(), n);
    let mod_bits = n.bits();
    let em_bits = mod_bits - 1;
    let em_len = em_bits.div_ceil(8);
    let raw = m.to_bytes_be();
    if raw.len() > em_len {
        return Err(CryptoError::BadSignature);
    }
    let mut em = vec![0u8; em_len - raw.len()];
    em.extend_from_slice(&raw);
    emsa_pss_verify(&hash.digest(msg), &em, em_bits, hash, salt)
}

fn emsa_pss_verify(
    m_hash: &[u8],
    em: &[u8],
    em_bits: usize,
    hash: DigestAlg,
    salt: usize,
) -> Result<(), CryptoError> {
    let h_len = m_hash.len();
    let em_len = em.len();
    let bad = Err(CryptoError::BadSignature);
    if em_len < h_len + salt + 2 || em.last() != Some(&0xbc) {
        return bad;
    }
    let (masked_db, rest) = em.split_at(em_len - h_len - 1);
    let h = rest.get(..h_len).unwrap_or_default();
    let unused_bits = 8 * em_len - em_bits;
    let top_mask = 0xffu8.checked_shl(8 - unused_bits as u32).unwrap_or(0);
    if masked_db.first().is_some_and(|b| b & top_mask != 0) {
        return bad;
    }
    let mask = mgf1(h, masked_db.len(), hash);
    let mut db: Vec<u8> = masked_db.iter().zip(&mask).map(|(a, b)| a ^ b).collect();
    if let Some(first) = db.first_mut() {
        *first &= !top_mask;
    }
    let ps_len = em_len - h_len - salt - 2;
    if db.get(..ps_len).is_none_or(|ps| ps.iter().any(|b| *b != 0)) || db.get(ps_len) != Some(&1) {
        return bad;
    }
    let salt_bytes = db.get(ps_len + 1..).unwrap_or_default();
    let h2 = hash.digest_parts(&[&[0u8; 8], m_hash, salt_bytes]);
    if h2 == h { Ok(()) } else { bad }
}

fn mgf1(seed: &[u8], len: usize, hash: DigestAlg) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 64);
    let mut counter = 0u32;
    while out.len() < len {
        out.extend(hash.digest_parts(&[seed, &counter.to_be_bytes()]));
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}
