//! OCSP responses (RFC 6960) as revocation evidence, read like CRLs: from /DSS, from the CMS
//! `crls` field (id-ri-ocsp-response) and from Adobe's revocationInfoArchival attribute.
//!
//! A response counts only when it is `successful` and `id-pkix-ocsp-basic`, its signature
//! verifies, its responder is the certificate's issuer or a certificate that issuer gave
//! id-kp-OCSPSigning, its CertID names the certificate, and its thisUpdate is not after the
//! validation time. Anything else is reported and ignored: it never makes a certificate good.

use thiserror::Error;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::asn1::{self, Tlv, tag};
use crate::crypto::{self, AlgId, DigestAlg};
use crate::x509::certs::{self, CertInfo, strip_zeros};

/// OIDs used by OCSP.
pub mod oid {
    /// id-pkix-ocsp-basic
    pub const BASIC: &str = "1.3.6.1.5.5.7.48.1.1";
    /// adbe-revocationInfoArchival (signed attribute)
    pub const ADBE_REVOCATION_INFO_ARCHIVAL: &str = "1.2.840.113583.1.1.8";
}

/// Largest OCSP response read (real ones are a few kilobytes).
pub const MAX_RESPONSE_LEN: usize = 256 << 10;
/// Most SingleResponses read from one response.
const MAX_SINGLE: usize = 512;
/// Most certificates read from one response's `certs` field.
const MAX_CERTS: usize = 16;
/// Most delegated-responder candidates whose issuance is checked per response.
const MAX_CANDIDATES: usize = 8;

/// ENUMERATED
const ENUMERATED: u32 = 10;

/// Why an OCSP response could not be read.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum OcspError {
    /// Larger than [`MAX_RESPONSE_LEN`].
    #[error("larger than {MAX_RESPONSE_LEN} bytes")]
    TooLarge,
    /// Not valid BER/DER.
    #[error("bad encoding: {0}")]
    Encoding(#[from] asn1::Asn1Error),
    /// responseStatus is not `successful`.
    #[error("the responder answered {0}")]
    NotSuccessful(&'static str),
    /// responseType is not id-pkix-ocsp-basic.
    #[error("response type {0} is not id-pkix-ocsp-basic")]
    NotBasic(String),
    /// A field is missing or has the wrong type.
    #[error("malformed {0}")]
    Structure(&'static str),
}

/// How the response names its responder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponderId {
    /// byName: DER of the responder's subject Name.
    Name(Vec<u8>),
    /// byKey: SHA-1 of the responder's subjectPublicKey.
    KeyHash(Vec<u8>),
}

/// certStatus of a SingleResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertStatus {
    /// good
    Good,
    /// revoked at `time` (Unix seconds), with a CRLReason code if given.
    Revoked {
        /// revocationTime.
        time: i64,
        /// revocationReason.
        reason: Option<u8>,
    },
    /// unknown
    Unknown,
}

/// One SingleResponse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleResponse {
    /// CertID hashAlgorithm OID.
    pub hash_oid: String,
    /// CertID issuerNameHash.
    pub issuer_name_hash: Vec<u8>,
    /// CertID issuerKeyHash.
    pub issuer_key_hash: Vec<u8>,
    /// CertID serialNumber content, leading zeros stripped.
    pub serial: Vec<u8>,
    /// certStatus.
    pub status: CertStatus,
    /// thisUpdate (Unix seconds).
    pub this_update: i64,
    /// nextUpdate (Unix seconds), if given.
    pub next_update: Option<i64>,
}

/// A decoded BasicOCSPResponse.
#[derive(Debug, Clone)]
pub struct BasicResponse<'a> {
    /// The whole BasicOCSPResponse: SEQUENCE { tbsResponseData, signatureAlgorithm, signature, .. }.
    pub raw: &'a [u8],
    /// responderID.
    pub responder: ResponderId,
    /// producedAt (Unix seconds).
    pub produced_at: i64,
    /// The SingleResponses (at most [`MAX_SINGLE`]).
    pub responses: Vec<SingleResponse>,
    /// DER of the certificates in `certs` (at most [`MAX_CERTS`]).
    pub certs: Vec<&'a [u8]>,
}

fn structure(what: &'static str) -> OcspError {
    OcspError::Structure(what)
}

/// Decodes an OCSPResponse (or, tolerated, a bare BasicOCSPResponse) down to its basic response.
pub fn parse(der: &[u8]) -> Result<BasicResponse<'_>, OcspError> {
    if der.len() > MAX_RESPONSE_LEN {
        return Err(OcspError::TooLarge);
    }
    let (top, _) = asn1::parse(der)?;
    let fields = top.seq()?;
    let first = fields.first().ok_or(structure("OCSPResponse"))?;
    if first.is(tag::SEQUENCE) {
        // Some producers store the BasicOCSPResponse alone.
        return parse_basic(top.raw);
    }
    if !first.is(ENUMERATED) {
        return Err(structure("responseStatus"));
    }
    match first.value {
        [0] => {}
        [1] => return Err(OcspError::NotSuccessful("malformedRequest")),
        [2] => return Err(OcspError::NotSuccessful("internalError")),
        [3] => return Err(OcspError::NotSuccessful("tryLater")),
        [5] => return Err(OcspError::NotSuccessful("sigRequired")),
        [6] => return Err(OcspError::NotSuccessful("unauthorized")),
        _ => return Err(OcspError::NotSuccessful("an unknown responseStatus")),
    }
    let bytes = fields
        .get(1)
        .filter(|t| t.is_context(0))
        .ok_or(structure("responseBytes"))?
        .children()?;
    let rb = bytes.first().ok_or(structure("responseBytes"))?.seq()?;
    let kind = rb.first().ok_or(structure("responseType"))?.oid()?;
    if kind != oid::BASIC {
        return Err(OcspError::NotBasic(kind));
    }
    let inner = rb
        .get(1)
        .filter(|t| t.is(tag::OCTET_STRING) && !t.constructed)
        .ok_or(structure("response"))?;
    parse_basic(inner.value)
}

fn parse_basic(der: &[u8]) -> Result<BasicResponse<'_>, OcspError> {
    let (basic, _) = asn1::parse(der)?;
    let parts = basic.seq()?;
    let (Some(tbs), Some(_alg), Some(_sig)) = (parts.first(), parts.get(1), parts.get(2)) else {
        return Err(structure("BasicOCSPResponse"));
    };
    let mut certs = Vec::new();
    if let Some(c) = parts.get(3).filter(|t| t.is_context(0))
        && let Some(list) = c.children()?.first()
    {
        for cert in list.seq()?.iter().take(MAX_CERTS) {
            certs.push(cert.raw);
        }
    }
    let data = tbs.seq()?;
    let mut it = data.iter().peekable();
    if it.peek().is_some_and(|t| t.is_context(0)) {
        it.next(); // version
    }
    let rid = it.next().ok_or(structure("responderID"))?;
    let rid_inner = rid.children()?;
    let rid_value = rid_inner.first().ok_or(structure("responderID"))?;
    let responder = if rid.is_context(1) && rid_value.is(tag::SEQUENCE) {
        ResponderId::Name(rid_value.raw.to_vec())
    } else if rid.is_context(2) && rid_value.is(tag::OCTET_STRING) {
        ResponderId::KeyHash(rid_value.octets()?)
    } else {
        return Err(structure("responderID"));
    };
    let produced_at = asn1::parse_time(it.next().ok_or(structure("producedAt"))?)?;
    let list = it.next().ok_or(structure("responses"))?.seq()?;
    let mut responses = Vec::new();
    for single in list.iter().take(MAX_SINGLE) {
        responses.push(parse_single(single)?);
    }
    Ok(BasicResponse {
        raw: basic.raw,
        responder,
        produced_at,
        responses,
        certs,
    })
}

fn parse_single(t: &Tlv<'_>) -> Result<SingleResponse, OcspError> {
    let f = t.seq()?;
    let cert_id = f.first().ok_or(structure("certID"))?.seq()?;
    let hash_oid = AlgId::from_tlv(cert_id.first().ok_or(structure("hashAlgorithm"))?)?.oid;
    let octets = |i: usize, what: &'static str| -> Result<Vec<u8>, OcspError> {
        Ok(cert_id
            .get(i)
            .filter(|x| x.is(tag::OCTET_STRING))
            .ok_or(structure(what))?
            .octets()?)
    };
    let issuer_name_hash = octets(1, "issuerNameHash")?;
    let issuer_key_hash = octets(2, "issuerKeyHash")?;
    let serial = cert_id
        .get(3)
        .filter(|x| x.is(tag::INTEGER) && !x.constructed)
        .ok_or(structure("serialNumber"))?;
    let st = f.get(1).ok_or(structure("certStatus"))?;
    let status = if st.is_context(0) {
        CertStatus::Good
    } else if st.is_context(1) && st.constructed {
        let info = st.children()?;
        let time = asn1::parse_time(info.first().ok_or(structure("revocationTime"))?)?;
        let reason = match info.get(1).filter(|x| x.is_context(0)) {
            Some(r) => match r.children()?.first() {
                Some(e) if e.is(ENUMERATED) => match e.value {
                    [v] => Some(*v),
                    _ => None,
                },
                _ => return Err(structure("revocationReason")),
            },
            None => None,
        };
        CertStatus::Revoked { time, reason }
    } else if st.is_context(2) {
        CertStatus::Unknown
    } else {
        return Err(structure("certStatus"));
    };
    let this_update = asn1::parse_time(f.get(2).ok_or(structure("thisUpdate"))?)?;
    let next_update = match f.get(3).filter(|x| x.is_context(0)) {
        Some(n) => Some(asn1::parse_time(
            n.children()?.first().ok_or(structure("nextUpdate"))?,
        )?),
        None => None,
    };
    Ok(SingleResponse {
        hash_oid,
        issuer_name_hash,
        issuer_key_hash,
        serial: strip_zeros(serial.value).to_vec(),
        status,
        this_update,
        next_update,
    })
}

/// CRLReason names (RFC 5280 5.3.1).
pub fn reason_name(code: u8) -> String {
    match code {
        0 => "unspecified".into(),
        1 => "keyCompromise".into(),
        2 => "cACompromise".into(),
        3 => "affiliationChanged".into(),
        4 => "superseded".into(),
        5 => "cessationOfOperation".into(),
        6 => "certificateHold".into(),
        8 => "removeFromCRL".into(),
        9 => "privilegeWithdrawn".into(),
        10 => "aACompromise".into(),
        other => format!("reason {other}"),
    }
}

/// What one OCSP response says about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// An authorised, validly signed response about the certificate.
    Status {
        /// good or revoked (never unknown).
        status: CertStatus,
        /// thisUpdate.
        this_update: i64,
        /// nextUpdate, if any.
        next_update: Option<i64>,
        /// Who signed it, for the report.
        responder: String,
    },
    /// The response is about the certificate but cannot be used; why.
    Unusable(String),
    /// The response cannot be read at all; why.
    Unreadable(String),
    /// The response is about other certificates.
    NotAbout,
}

/// Judges the OCSP response `der` for `cert` issued by `issuer` at validation time `now`;
/// `known` are certificates that may be the (delegated) responder's.
pub fn judge(
    der: &[u8],
    cert: &CertInfo,
    issuer: &CertInfo,
    known: &[CertInfo],
    now: i64,
) -> Finding {
    let resp = match parse(der) {
        Ok(r) => r,
        Err(e) => return Finding::Unreadable(format!("an OCSP response was ignored: {e}")),
    };
    let Ok(issuer_key) = crypto::spki_public_key(&issuer.spki) else {
        return Finding::NotAbout;
    };
    let cert_issuer_name = cert.issuer_raw.as_slice();
    if cert_issuer_name != issuer.subject_raw.as_slice() {
        return Finding::NotAbout;
    }
    let mut unsupported_hash = None;
    let mut matches = Vec::new();
    for s in &resp.responses {
        if s.serial != cert.serial {
            continue;
        }
        let Some(h) = DigestAlg::from_oid(&s.hash_oid) else {
            unsupported_hash = Some(s.hash_oid.clone());
            continue;
        };
        if h.digest(cert_issuer_name) == s.issuer_name_hash
            && h.digest(issuer_key) == s.issuer_key_hash
        {
            matches.push(s);
        }
    }
    let what = format!("OCSP response for {}", cert.subject);
    if matches.is_empty() {
        return match unsupported_hash {
            Some(o) => Finding::Unusable(format!(
                "{what} ignored: CertID hash algorithm {o} unsupported"
            )),
            None => Finding::NotAbout,
        };
    }
    let responder = match authorised_responder(&resp, issuer, known) {
        Ok(r) => r,
        Err(why) => return Finding::Unusable(format!("{what} ignored: {why}")),
    };
    if resp.produced_at > now {
        return Finding::Unusable(format!(
            "{what} ignored: produced at {}, after the validation time",
            crate::fmt_time(resp.produced_at)
        ));
    }
    // A revoked answer outweighs a good one; among equals the freshest counts.
    let mut best: Option<&SingleResponse> = None;
    let mut notes = Vec::new();
    for s in matches {
        if s.this_update > now {
            notes.push(format!(
                "thisUpdate {} is after the validation time",
                crate::fmt_time(s.this_update)
            ));
            continue;
        }
        if s.next_update.is_some_and(|n| n < s.this_update) {
            notes.push("nextUpdate is before thisUpdate".to_string());
            continue;
        }
        if s.status == CertStatus::Unknown {
            notes.push(format!("the responder does not know {}", cert.subject));
            continue;
        }
        let rank = |x: &SingleResponse| {
            (
                matches!(x.status, CertStatus::Revoked { .. }),
                x.this_update,
            )
        };
        if best.is_none_or(|b| rank(s) > rank(b)) {
            best = Some(s);
        }
    }
    match best {
        Some(s) => Finding::Status {
            status: s.status.clone(),
            this_update: s.this_update,
            next_update: s.next_update,
            responder,
        },
        None => Finding::Unusable(format!("{what} ignored: {}", notes.join("; "))),
    }
}

/// The subject of the responder whose key verifies the response's signature, if it is
/// authorised for `issuer`'s certificates; otherwise why not.
fn authorised_responder(
    resp: &BasicResponse<'_>,
    issuer: &CertInfo,
    known: &[CertInfo],
) -> Result<String, String> {
    let names = |spki: &[u8], subject_raw: &[u8]| match &resp.responder {
        ResponderId::Name(n) => n.as_slice() == subject_raw,
        ResponderId::KeyHash(h) => {
            crypto::spki_public_key(spki).is_ok_and(|k| DigestAlg::Sha1.digest(k) == h.as_slice())
        }
    };
    let mut why = Vec::new();
    if names(&issuer.spki, &issuer.subject_raw) {
        match crypto::verify_signed_structure(resp.raw, &issuer.spki) {
            Ok(_) => return Ok(format!("{} (the issuing CA)", issuer.subject)),
            Err(e) => why.push(format!("signed by {}, but {e}", issuer.subject)),
        }
    }
    let mut candidates = certs::parse_all(resp.certs.iter().copied());
    for k in known {
        if !candidates.iter().any(|c| c.same_as(k)) {
            candidates.push(k.clone());
        }
    }
    let mut tried = 0usize;
    for c in candidates
        .iter()
        .filter(|c| names(&c.spki, &c.subject_raw) && !c.same_as(issuer))
    {
        tried += 1;
        if tried > MAX_CANDIDATES {
            why.push("too many candidate responder certificates".into());
            break;
        }
        if let Err(m) = delegated_ok(c, issuer, resp.produced_at) {
            why.push(m);
            continue;
        }
        match crypto::verify_signed_structure(resp.raw, &c.spki) {
            Ok(_) => return Ok(format!("{} (delegated by {})", c.subject, issuer.subject)),
            Err(e) => why.push(format!("signed by {}, but {e}", c.subject)),
        }
    }
    if why.is_empty() {
        why.push(format!(
            "its responder is neither {} nor a certificate it authorised for OCSP signing",
            issuer.subject
        ));
    }
    Err(why.join("; "))
}

/// A delegated responder: issued (and signed) by `issuer`, with id-kp-OCSPSigning, a
/// keyUsage allowing digitalSignature if present, valid when the response was produced.
fn delegated_ok(c: &CertInfo, issuer: &CertInfo, produced_at: i64) -> Result<(), String> {
    if c.issuer_raw != issuer.subject_raw {
        return Err(format!(
            "{} was not issued by {}",
            c.subject, issuer.subject
        ));
    }
    let ocsp_signing = X509Certificate::from_der(&c.raw)
        .ok()
        .and_then(|(_, x)| {
            x.extended_key_usage()
                .ok()
                .flatten()
                .map(|e| e.value.ocsp_signing)
        })
        .unwrap_or(false);
    if !ocsp_signing {
        return Err(format!("{} lacks id-kp-OCSPSigning", c.subject));
    }
    if c.key_usage.is_some_and(|k| !k.digital_signature) {
        return Err(format!("{}: keyUsage lacks digitalSignature", c.subject));
    }
    if produced_at < c.not_before || produced_at > c.not_after {
        return Err(format!(
            "{} was not valid when the response was produced",
            c.subject
        ));
    }
    crypto::verify_signed_structure(&c.raw, &issuer.spki)
        .map(|_| ())
        .map_err(|e| format!("{} is not signed by {}: {e}", c.subject, issuer.subject))
}

/// Collects the OCSPResponses (and CRLs) of an adbe-revocationInfoArchival attribute value:
/// SEQUENCE { crl [0] EXPLICIT SEQUENCE OF CRL, ocsp [1] EXPLICIT SEQUENCE OF OCSPResponse, .. }.
pub fn adobe_archival<'a>(
    value: &Tlv<'a>,
    crls: &mut Vec<&'a [u8]>,
    ocsps: &mut Vec<&'a [u8]>,
    limit: usize,
) {
    let Ok(fields) = value.seq() else { return };
    for f in fields {
        let out = if f.is_context(0) {
            &mut *crls
        } else if f.is_context(1) {
            &mut *ocsps
        } else {
            continue;
        };
        let Some(list) = f.children().ok().and_then(|c| c.into_iter().next()) else {
            continue;
        };
        let Ok(items) = list.seq() else { continue };
        for item in items.into_iter().filter(|i| i.is(tag::SEQUENCE)) {
            if out.len() >= limit {
                break;
            }
            out.push(item.raw);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An OCSPResponse made with Python's `cryptography`: the certs-test agency certificate
    /// revoked on 2025-01-02T03:04:05Z (keyCompromise), thisUpdate 2025-01-03, nextUpdate
    /// 2025-01-10, CertID with SHA-1, responder by key hash, ECDSA P-256 with SHA-256.
    const SAMPLE: &str = concat!(
        "308201260a0100a082011f3082011b06092b06010505073001010482010c308201083081afa2160414ddf83d6dbfca6b",
        "ff69b5ec29db5dde7b8619ca88180f32303236313132343035353432355a3081833081803042300906052b0e03021a05",
        "0004144c89c567451301a96f55112bc985a247f26a76a4041421aeccd2eaad5f8af5b837e5c5e4aeecbf3e453b02095a",
        "000000000000000aa116180f32303235303130323033303430355aa0030a0101180f3230323530313033303030303030",
        "5aa011180f32303235303131303030303030305a300a06082a8648ce3d04030203480030450221009f3fe07a716ca9a9",
        "41fc327e406a97cc91100b920a9038d025cb3eaef889d56002201104f50dac1654b087da6b7acd2ea0a4c4060a88cfc3",
        "11c4b50a5709cc6dd666",
    );

    fn sample() -> Vec<u8> {
        hex::decode(SAMPLE).expect("hex")
    }

    #[test]
    fn reads_a_revoked_answer() {
        let der = sample();
        let r = parse(&der).expect("parses");
        assert!(matches!(&r.responder, ResponderId::KeyHash(h) if h.len() == 20));
        assert!(r.certs.is_empty());
        let [s] = r.responses.as_slice() else {
            panic!("one SingleResponse expected");
        };
        assert_eq!(s.hash_oid, "1.3.14.3.2.26");
        assert_eq!(s.serial, hex::decode("5a000000000000000a").expect("hex"));
        assert_eq!(
            s.status,
            CertStatus::Revoked {
                time: 1_735_787_045,
                reason: Some(1)
            }
        );
        assert_eq!(s.this_update, 1_735_862_400);
        assert_eq!(s.next_update, Some(1_736_467_200));
        assert!(r.produced_at > s.this_update);
        // The BasicOCSPResponse alone is read the same way.
        let basic = parse_basic(r.raw).expect("basic");
        assert_eq!(basic.responses, r.responses);
        assert_eq!(parse(r.raw).map(|b| b.responses), Ok(r.responses.clone()));
    }

    #[test]
    fn unsuccessful_and_foreign_responses_are_errors() {
        // OCSPResponse { responseStatus tryLater }
        assert_eq!(
            parse(&[0x30, 0x03, 0x0a, 0x01, 0x03]).map(|_| ()),
            Err(OcspError::NotSuccessful("tryLater"))
        );
        let mut der = sample();
        // responseType id-pkix-ocsp-basic → …48.1.2 (id-pkix-ocsp-nonce, not a response type)
        let at = der
            .windows(9)
            .position(|w| w == [0x2b, 6, 1, 5, 5, 7, 0x30, 1, 1])
            .expect("responseType");
        der[at + 8] = 2;
        assert!(matches!(parse(&der), Err(OcspError::NotBasic(_))));
        assert_eq!(
            parse(&vec![0u8; MAX_RESPONSE_LEN + 1]).map(|_| ()),
            Err(OcspError::TooLarge)
        );
    }

    #[test]
    fn damaged_input_never_panics() {
        let der = sample();
        for n in 0..der.len() {
            let cut = der.get(..n).unwrap_or_default();
            assert!(parse(cut).is_err(), "truncated to {n} bytes");
        }
        for i in 0..der.len() {
            for x in [0x01u8, 0x80, 0xff] {
                let mut d = der.clone();
                if let Some(b) = d.get_mut(i) {
                    *b ^= x;
                }
                let _ = parse(&d);
            }
        }
    }

    #[test]
    fn reason_names() {
        assert_eq!(reason_name(1), "keyCompromise");
        assert_eq!(reason_name(7), "reason 7");
    }
}
