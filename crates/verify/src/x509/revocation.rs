//! Revocation checks against CRLs and OCSP responses. A CRL's signature is checked with the
//! issuer's key (which must allow cRLSign), then the certificate's serial is looked up; an
//! OCSP response is judged by [`ocsp::judge`]. Revoked evidence outweighs good evidence.

use std::collections::HashSet;

use crate::cms::signed_data::{SignedData, SignerInfo};
use crate::pdf::objects as pdf;
use crate::x509::certs::CertInfo;
use crate::x509::crl_scope::{self, Crl, SignerCheck};
use crate::x509::ocsp;
use lopdf::{Dictionary, Document, Object};

/// Most OCSP responses (after removing duplicates) judged for one certificate.
pub const MAX_OCSP_RESPONSES: usize = 256;
/// Most notes on ignored OCSP responses kept for one certificate.
const MAX_NOTES: usize = 16;
/// Most CRLs or OCSP responses taken from one signature's CMS and attributes.
const MAX_EMBEDDED: usize = 256;
/// Most streams taken from /DSS /OCSPs, and most /VRI entries read.
const MAX_DSS_ITEMS: usize = 2000;
/// Most OCSP streams read from one /VRI entry.
const MAX_VRI_ITEMS: usize = 64;

/// The streams of a /DSS dictionary that hold OCSP responses: its /OCSPs array and the /OCSP
/// array of each /VRI entry, each object once (bounded).
pub fn dss_ocsp_streams<'d>(doc: &'d Document, dss: &'d Dictionary) -> Vec<&'d lopdf::Stream> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut take = |o: &'d Object, out: &mut Vec<&'d lopdf::Stream>| {
        if let Object::Reference(id) = o
            && !seen.insert(*id)
        {
            return;
        }
        if let Some(Object::Stream(s)) = pdf::resolve(doc, o) {
            out.push(s);
        }
    };
    if let Some(Object::Array(a)) = pdf::get(doc, dss, b"OCSPs") {
        for o in a.iter().take(MAX_DSS_ITEMS) {
            take(o, &mut out);
        }
    }
    let Some(vri) = pdf::get(doc, dss, b"VRI").and_then(|v| pdf::as_dict(doc, v)) else {
        return out;
    };
    for (_, entry) in vri.iter().take(MAX_DSS_ITEMS) {
        let Some(entry) = pdf::as_dict(doc, entry) else {
            continue;
        };
        if let Some(Object::Array(a)) = pdf::get(doc, entry, b"OCSP") {
            for o in a.iter().take(MAX_VRI_ITEMS) {
                if out.len() >= MAX_DSS_ITEMS {
                    return out;
                }
                take(o, &mut out);
            }
        }
    }
    out
}

/// The revocation status of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    /// A valid CRL from the issuer does not list it, or an authorised OCSP response says good.
    Good {
        /// thisUpdate of the CRL or OCSP response used.
        this_update: i64,
        /// nextUpdate of the CRL or OCSP response used, if any.
        next_update: Option<i64>,
    },
    /// Listed on a valid CRL, or revoked according to an authorised OCSP response.
    Revoked {
        /// revocationDate (CRL) or revocationTime (OCSP).
        date: i64,
        /// reasonCode, if given.
        reason: Option<String>,
    },
    /// No usable CRL or OCSP response for this certificate (why).
    Unknown(String),
}

/// The status the CRLs give (`None`: no usable CRL), and why some CRLs were ignored.
fn check_crls(
    cert: &CertInfo,
    issuer: &CertInfo,
    ev: &Evidence<'_>,
) -> (Option<RevocationStatus>, Vec<String>) {
    let mut notes = Vec::new();
    let input = crl_scope::CrlInputs {
        crls: ev.crls,
        certs: ev.certs,
        signer_ok: ev.crl_signer,
        now: ev.now,
    };
    let status = match crl_scope::status(cert, issuer, &input, &mut notes) {
        crl_scope::CrlVerdict::Revoked { date, reason } => {
            Some(RevocationStatus::Revoked { date, reason })
        }
        crl_scope::CrlVerdict::Good {
            this_update,
            next_update,
        } => Some(RevocationStatus::Good {
            this_update,
            next_update,
        }),
        crl_scope::CrlVerdict::NoCrl => None,
    };
    (status, notes)
}

/// Parses the DER CRLs at hand once (unreadable ones are left out, and counted).
pub fn parse_crls(ders: &[Vec<u8>]) -> (Vec<Crl>, usize) {
    let mut out: Vec<Crl> = Vec::new();
    let mut bad = 0;
    let mut seen = HashSet::new();
    for d in ders {
        if !seen.insert(d.as_slice()) {
            continue;
        }
        match Crl::parse(d) {
            Some(c) => out.push(c),
            None => bad += 1,
        }
    }
    (out, bad)
}

/// Revocation data a signature carries itself: the CRLs of Adobe's revocationInfoArchival
/// signed attribute, and the OCSP responses of that attribute and of the SignedData's
/// `crls` field (id-ri-ocsp-response). The SignedData's plain CRLs are in `sd.crls`.
#[derive(Debug, Clone, Default)]
pub struct Embedded {
    /// DER CRLs.
    pub crls: Vec<Vec<u8>>,
    /// DER OCSPResponses.
    pub ocsps: Vec<Vec<u8>>,
}

/// Gathers the revocation data embedded in `sd` and its SignerInfo `si` (bounded).
pub fn embedded(sd: &SignedData<'_>, si: &SignerInfo<'_>) -> Embedded {
    let mut crls = Vec::new();
    let mut ocsps: Vec<&[u8]> = sd
        .ocsp_responses
        .iter()
        .take(MAX_EMBEDDED)
        .copied()
        .collect();
    for a in si
        .signed_attrs
        .iter()
        .chain(si.unsigned_attrs.iter())
        .filter(|a| a.oid == ocsp::oid::ADBE_REVOCATION_INFO_ARCHIVAL)
    {
        for v in &a.values {
            ocsp::adobe_archival(v, &mut crls, &mut ocsps, MAX_EMBEDDED);
        }
    }
    Embedded {
        crls: crls.into_iter().map(<[u8]>::to_vec).collect(),
        ocsps: ocsps.into_iter().map(<[u8]>::to_vec).collect(),
    }
}

/// The revocation data available to judge certificates with.
#[derive(Clone, Copy)]
pub struct Evidence<'a> {
    /// The CRLs, parsed.
    pub crls: &'a [Crl],
    /// Validates a CRL signer that is not the certificate's issuer (a path of its own).
    pub crl_signer: SignerCheck<'a>,
    /// DER OCSPResponses.
    pub ocsps: &'a [Vec<u8>],
    /// Certificates that may be delegated OCSP responders (besides those in the responses)
    /// or CRL signers.
    pub certs: &'a [CertInfo],
    /// The validation time (Unix seconds).
    pub now: i64,
}

/// The status of one certificate, where it came from, and the evidence that was ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The status.
    pub status: RevocationStatus,
    /// What decided it ("CRL of …", "OCSP response of …"); empty when unknown.
    pub source: String,
    /// Why some revocation data could not be used (each says what was ignored).
    pub notes: Vec<String>,
}

/// Judges `cert` (issued by `issuer`) with every CRL and OCSP response in `ev`.
pub fn check_all(cert: &CertInfo, issuer: &CertInfo, ev: &Evidence<'_>) -> Outcome {
    let (crl, mut notes) = check_crls(cert, issuer, ev);
    let crl_source = format!("CRL of {}", issuer.subject);
    let mut revoked: Option<(i64, Option<String>, String)> = None;
    let mut good: Option<(i64, Option<i64>, String)> = None;
    match crl {
        Some(RevocationStatus::Revoked { date, reason }) => {
            revoked = Some((date, reason, crl_source));
        }
        Some(RevocationStatus::Good {
            this_update,
            next_update,
        }) => good = Some((this_update, next_update, crl_source)),
        Some(RevocationStatus::Unknown(_)) | None => {}
    }
    let mut seen: HashSet<&[u8]> = HashSet::new();
    for der in ev.ocsps {
        if !seen.insert(der.as_slice()) {
            continue;
        }
        if seen.len() > MAX_OCSP_RESPONSES {
            notes.push(format!(
                "more than {MAX_OCSP_RESPONSES} OCSP responses: the rest were ignored"
            ));
            break;
        }
        match ocsp::judge(der, cert, issuer, ev.certs, ev.now) {
            ocsp::Finding::Status {
                status,
                this_update,
                next_update,
                responder,
            } => {
                let source = format!("OCSP response of {responder}");
                match status {
                    ocsp::CertStatus::Revoked { time, reason } => {
                        if revoked.as_ref().is_none_or(|(d, _, _)| time < *d) {
                            revoked = Some((time, reason.map(ocsp::reason_name), source));
                        }
                    }
                    ocsp::CertStatus::Good => {
                        if good.as_ref().is_none_or(|(t, _, _)| this_update > *t) {
                            good = Some((this_update, next_update, source));
                        }
                    }
                    ocsp::CertStatus::Unknown => {}
                }
            }
            ocsp::Finding::Unusable(m) | ocsp::Finding::Unreadable(m) => {
                if notes.len() < MAX_NOTES && !notes.contains(&m) {
                    notes.push(m);
                }
            }
            ocsp::Finding::NotAbout => {}
        }
    }
    if let Some((date, reason, source)) = revoked {
        return Outcome {
            status: RevocationStatus::Revoked { date, reason },
            source,
            notes,
        };
    }
    if let Some((this_update, next_update, source)) = good {
        return Outcome {
            status: RevocationStatus::Good {
                this_update,
                next_update,
            },
            source,
            notes,
        };
    }
    let why = if notes.is_empty() {
        format!(
            "no CRL or OCSP response from {} was supplied",
            issuer.subject
        )
    } else {
        notes.join("; ")
    };
    Outcome {
        status: RevocationStatus::Unknown(why),
        source: String::new(),
        notes: Vec::new(),
    }
}
