//! The DER a token's attributes and signatures are turned into: the public key as a
//! certificate's subjectPublicKey holds it (RSAPublicKey for RSA, the uncompressed point for
//! EC), the curve named by CKA_EC_PARAMS, and ECDSA's raw `r || s` as `Ecdsa-Sig-Value`.

use const_oid::ObjectIdentifier;
use const_oid::db::rfc5912;
use der::asn1::{OctetStringRef, UintRef};
use der::{Decode, Encode, Sequence};

use crate::pki::key::{KeyAlgorithm, KeyError};

/// RSAPublicKey (RFC 8017 A.1.1).
#[derive(Sequence)]
struct RsaPublicKey<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// Ecdsa-Sig-Value (RFC 5480 / RFC 3279).
#[derive(Sequence)]
struct EcdsaSigValue<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

fn der_error(what: &str, e: der::Error) -> KeyError {
    KeyError::Pkcs11(format!("{what}: {e}"))
}

/// DER RSAPublicKey from CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian unsigned).
pub(super) fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> Result<Vec<u8>, KeyError> {
    let key = RsaPublicKey {
        modulus: UintRef::new(modulus).map_err(|e| der_error("CKA_MODULUS", e))?,
        public_exponent: UintRef::new(exponent).map_err(|e| der_error("CKA_PUBLIC_EXPONENT", e))?,
    };
    key.to_der().map_err(|e| der_error("RSAPublicKey", e))
}

/// Bits of a big-endian unsigned integer (leading zero bytes ignored).
pub(super) fn bit_len(be: &[u8]) -> usize {
    let trimmed: &[u8] = match be.iter().position(|b| *b != 0) {
        Some(i) => be.get(i..).unwrap_or_default(),
        None => &[],
    };
    match trimmed.first() {
        Some(first) => trimmed.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// The curve CKA_EC_PARAMS names (a DER namedCurve OID): the algorithm and the byte length
/// of one coordinate. Only P-256 and P-384.
pub(super) fn curve(ec_params: &[u8]) -> Result<(KeyAlgorithm, usize), KeyError> {
    let oid = ObjectIdentifier::from_der(ec_params).map_err(|_| {
        KeyError::Pkcs11Unsupported(
            "CKA_EC_PARAMS is not a named curve (explicit curve parameters are not supported)"
                .into(),
        )
    })?;
    if oid == rfc5912::SECP_256_R_1 {
        Ok((KeyAlgorithm::EcdsaP256Sha256, 32))
    } else if oid == rfc5912::SECP_384_R_1 {
        Ok((KeyAlgorithm::EcdsaP384Sha384, 48))
    } else {
        Err(KeyError::Pkcs11Unsupported(format!(
            "EC curve {oid}: saoy signs with P-256 or P-384"
        )))
    }
}

/// The uncompressed point `04 || X || Y` from CKA_EC_POINT, which PKCS#11 defines as a DER
/// OCTET STRING around it (some modules return the bare point; both are read).
pub(super) fn ec_point(attr: &[u8], coordinate_len: usize) -> Result<Vec<u8>, KeyError> {
    let point_len = 1 + 2 * coordinate_len;
    let uncompressed = |p: &[u8]| p.len() == point_len && p.first() == Some(&0x04);
    if let Ok(inner) = OctetStringRef::from_der(attr)
        && uncompressed(inner.as_bytes())
    {
        return Ok(inner.as_bytes().to_vec());
    }
    if uncompressed(attr) {
        return Ok(attr.to_vec());
    }
    Err(KeyError::Pkcs11Unsupported(
        "CKA_EC_POINT is not an uncompressed point of the key's curve".into(),
    ))
}

/// DER Ecdsa-Sig-Value from the `r || s` CKM_ECDSA returns (each `coordinate_len` bytes).
pub(super) fn ecdsa_der(raw: &[u8], coordinate_len: usize) -> Result<Vec<u8>, KeyError> {
    if raw.len() != 2 * coordinate_len {
        return Err(KeyError::Pkcs11(format!(
            "the token's ECDSA signature is {} bytes, expected {}",
            raw.len(),
            2 * coordinate_len
        )));
    }
    let (r, s) = raw.split_at(coordinate_len);
    let value = EcdsaSigValue {
        r: UintRef::new(r).map_err(|e| der_error("ECDSA r", e))?,
        s: UintRef::new(s).map_err(|e| der_error("ECDSA s", e))?,
    };
    value.to_der().map_err(|e| der_error("Ecdsa-Sig-Value", e))
}

/// The DigestInfo-free RSA signature padded on the left to the modulus length (a token may
/// drop leading zero bytes; verifiers want exactly `modulus_len` bytes).
pub(super) fn rsa_signature(mut sig: Vec<u8>, modulus_len: usize) -> Result<Vec<u8>, KeyError> {
    if sig.len() > modulus_len {
        return Err(KeyError::Pkcs11(format!(
            "the token's RSA signature is {} bytes, longer than the {modulus_len}-byte modulus",
            sig.len()
        )));
    }
    if sig.len() < modulus_len {
        let mut padded = vec![0u8; modulus_len - sig.len()];
        padded.append(&mut sig);
        sig = padded;
    }
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdsa_values_get_minimal_positive_integers() {
        let mut raw = vec![0u8; 64];
        raw[1] = 0x7f; // r = 0x007f00…: one leading zero byte dropped
        raw[32] = 0x80; // s = 0x80…: a zero byte added to stay positive
        let der = ecdsa_der(&raw, 32).unwrap();
        assert_eq!(&der[..4], &[0x30, 0x44, 0x02, 0x1f]);
        assert_eq!(der[4], 0x7f);
        assert_eq!(&der[35..38], &[0x02, 0x21, 0x00]);
        assert!(ecdsa_der(&raw[..63], 32).is_err());
    }

    #[test]
    fn points_curves_and_lengths() {
        let mut point = vec![0x04];
        point.extend_from_slice(&[7u8; 64]);
        let wrapped = OctetStringRef::new(&point).unwrap().to_der().unwrap();
        assert_eq!(ec_point(&wrapped, 32).unwrap(), point);
        assert_eq!(ec_point(&point, 32).unwrap(), point);
        assert!(ec_point(&wrapped, 48).is_err());
        let p256 = rfc5912::SECP_256_R_1.to_der().unwrap();
        assert_eq!(curve(&p256).unwrap().1, 32);
        let p521 = rfc5912::SECP_521_R_1.to_der().unwrap();
        assert!(curve(&p521).unwrap_err().to_string().contains("P-256"));
        assert_eq!(bit_len(&[0, 0x01, 0]), 9);
        assert_eq!(bit_len(&[0x80; 256]), 2048);
        assert_eq!(rsa_signature(vec![1, 2], 4).unwrap(), vec![0, 0, 1, 2]);
    }
}
