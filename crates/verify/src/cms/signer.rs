//! Checks one CMS SignerInfo against the content it signs: message digest, signature value
//! (with or without signed attributes) and the signing-certificate(-v2) binding.

use crate::cms::signed_data::{self as cms, SignedData, SignerId, SignerInfo};
use crate::crypto::{self, CryptoError, DigestAlg, Signed};
use crate::report::{CheckName, Indication, SubIndication};
use crate::x509::certs::{CertInfo, strip_zeros};

/// One failed step: indication, sub-indication, detail.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Indication the failure leads to.
    pub ind: Indication,
    /// Sub-indication.
    pub sub: SubIndication,
    /// Human-readable detail.
    pub detail: String,
}

fn failure(ind: Indication, sub: SubIndication, detail: impl Into<String>) -> Failure {
    Failure {
        ind,
        sub,
        detail: detail.into(),
    }
}

/// The outcome of the SignerInfo checks, step by step.
#[derive(Debug, Clone)]
pub struct SignerOutcome {
    /// The digest algorithm, if known.
    pub digest: Option<DigestAlg>,
    /// The signing certificate, if identified.
    pub cert: Option<CertInfo>,
    /// (check name, result) in order.
    pub steps: Vec<(CheckName, Result<String, Failure>)>,
    /// Claimed signing time from the signingTime attribute (Unix seconds).
    pub signing_time: Option<i64>,
}

/// Finds the certificate named by `sid` among `certs`.
pub fn find_cert<'c>(sid: &SignerId<'_>, certs: &'c [CertInfo]) -> Option<&'c CertInfo> {
    certs.iter().find(|c| match sid {
        SignerId::IssuerSerial { issuer, serial } => {
            c.issuer_raw.as_slice() == *issuer && c.serial.as_slice() == strip_zeros(serial)
        }
        SignerId::SubjectKeyId(k) => c.ski.as_deref() == Some(k.as_slice()),
    })
}

/// Checks `si` of `sd` over `content` (the concatenated parts). `certs` are the candidates
/// for the signing certificate (the SignedData's own first).
pub fn check<C: Signed + ?Sized>(
    sd: &SignedData<'_>,
    si: &SignerInfo<'_>,
    content: &C,
    certs: &[CertInfo],
) -> SignerOutcome {
    let _ = sd;
    let mut out = SignerOutcome {
        digest: None,
        cert: None,
        steps: Vec::new(),
        signing_time: None,
    };
    let Some(digest) = DigestAlg::from_oid(&si.digest_alg.oid) else {
        out.steps.push((
            CheckName::DigestAlgorithm,
            Err(failure(
                Indication::Indeterminate,
                SubIndication::CryptoConstraintsFailure,
                format!("unsupported digest algorithm {}", si.digest_alg.oid),
            )),
        ));
        return out;
    };
    out.digest = Some(digest);
    if digest.is_weak() {
        out.steps.push((
            CheckName::DigestAlgorithm,
            Err(failure(
                Indication::Indeterminate,
                SubIndication::CryptoConstraintsFailure,
                format!("{} is too weak for signatures", digest.name()),
            )),
        ));
    } else {
        out.steps
            .push((CheckName::DigestAlgorithm, Ok(digest.name().to_string())));
    }
    let Some(cert) = find_cert(&si.sid, certs).cloned() else {
        out.steps.push((
            CheckName::SigningCertificate,
            Err(failure(
                Indication::Indeterminate,
                SubIndication::NoSigningCertificateFound,
                "the certificate named by the SignerInfo is not in the signature",
            )),
        ));
        return out;
    };
    out.steps
        .push((CheckName::SigningCertificate, Ok(cert.subject.clone())));
    let computed = content.digest(digest);
    let verify_input: Vec<u8>;
    if let Some(attrs) = si.signed_attrs_for_signature() {
        // Signed attributes: contentType and messageDigest exactly once.
        let md_values = si.signed_attr(cms::oid::MESSAGE_DIGEST);
        if si.signed_attr_count(cms::oid::MESSAGE_DIGEST) != 1 || md_values.len() != 1 {
            out.steps.push((
                CheckName::MessageDigest,
                Err(failure(
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    "signed attributes must hold exactly one messageDigest",
                )),
            ));
            return out;
        }
        if si.signed_attr_count(cms::oid::CONTENT_TYPE) != 1 {
            out.steps.push((
                CheckName::ContentType,
                Err(failure(
                    Indication::Failed,
                    SubIndication::FormatFailure,
                    "signed attributes must hold exactly one contentType",
                )),
            ));
        }
        let claimed = md_values
            .first()
            .and_then(|t| t.octets().ok())
            .unwrap_or_default();
        if claimed != computed {
            out.steps.push((
                CheckName::MessageDigest,
                Err(failure(
                    Indication::Failed,
                    SubIndication::HashFailure,
                    format!(
                        "{} of the signed bytes does not match the messageDigest attribute",
                        digest.name()
                    ),
                )),
            ));
            return out;
        }
        out.steps.push((
            CheckName::MessageDigest,
            Ok(format!("{} matches", digest.name())),
        ));
        if let Some(t) = si.signed_attr(cms::oid::SIGNING_TIME).first() {
            out.signing_time = crate::asn1::parse_time(t).ok();
        }
        signing_cert_binding(si, &cert, &mut out);
        verify_input = attrs;
    } else {
        verify_input = content.concat();
        out.steps.push((
            CheckName::MessageDigest,
            Ok("no signed attributes: the signature covers the bytes directly".into()),
        ));
    }
    signature_value(si, digest, &cert, &verify_input, &mut out);
    out.cert = Some(cert);
    out
}

/// Cryptographic verification of the signature value over `input` with the signer's key.
fn signature_value(
    si: &SignerInfo<'_>,
    digest: DigestAlg,
    cert: &CertInfo,
    verify_input: &[u8],
    out: &mut SignerOutcome,
) {
    match crypto::verify_signature(
        &si.sig_alg,
        Some(digest),
        &cert.spki,
        verify_input,
        &si.signature,
    ) {
        Ok(v) => {
            out.steps.push((
                CheckName::SignatureValue,
                Ok(format!("verifies with {}", si.sig_alg.oid)),
            ));
            if let Some(w) = v.weak {
                out.steps.push((
                    CheckName::CryptoConstraints,
                    Err(failure(
                        Indication::Indeterminate,
                        SubIndication::CryptoConstraintsFailure,
                        w,
                    )),
                ));
            }
        }
        Err(CryptoError::BadSignature) => out.steps.push((
            CheckName::SignatureValue,
            Err(failure(
                Indication::Failed,
                SubIndication::SigCryptoFailure,
                "the signature value does not verify",
            )),
        )),
        Err(CryptoError::Unsupported(m)) => out.steps.push((
            CheckName::SignatureValue,
            Err(failure(
                Indication::Indeterminate,
                SubIndication::CryptoConstraintsFailure,
                m,
            )),
        )),
        Err(CryptoError::Malformed(m)) => out.steps.push((
            CheckName::SignatureValue,
            Err(failure(Indication::Failed, SubIndication::FormatFailure, m)),
        )),
    }
}

fn signing_cert_binding(si: &SignerInfo<'_>, cert: &CertInfo, out: &mut SignerOutcome) {
    let v2 = si.signed_attr(cms::oid::SIGNING_CERTIFICATE_V2);
    let v1 = si.signed_attr(cms::oid::SIGNING_CERTIFICATE);
    let (value, is_v2) = match (v2.first(), v1.first()) {
        (Some(v), _) => (*v, true),
        (None, Some(v)) => (*v, false),
        (None, None) => {
            out.steps
                .push((CheckName::SigningCertificateAttribute, Ok("absent".into())));
            return;
        }
    };
    let bad = |d: String| {
        Err(failure(
            Indication::Indeterminate,
            SubIndication::NoSigningCertificateFound,
            d,
        ))
    };
    let step = match cms::parse_ess_cert_id(value, is_v2) {
        Err(e) => Err(failure(
            Indication::Failed,
            SubIndication::FormatFailure,
            format!("signing-certificate attribute: {e}"),
        )),
        Ok(id) => match DigestAlg::from_oid(&id.hash_oid) {
            None => bad(format!(
                "signing-certificate hash algorithm {} unsupported",
                id.hash_oid
            )),
            Some(h) if h.digest(&cert.raw) != id.hash => {
                bad("the signing-certificate attribute names another certificate".into())
            }
            Some(_) => match id.serial {
                Some(s) if strip_zeros(&s) != cert.serial.as_slice() => {
                    bad("the signing-certificate attribute's serial differs".into())
                }
                _ => Ok(format!(
                    "signing-certificate{} matches",
                    if is_v2 { "-v2" } else { "" }
                )),
            },
        },
    };
    out.steps
        .push((CheckName::SigningCertificateAttribute, step));
}
