//! One certificate judged on its own, with the same path building, constraint, validity and
//! revocation code the PDF signatures go through: for callers outside PDFs (TLS client
//! certificates, `saoy verify-cert`).

use std::time::SystemTime;

use crate::report::SubIndication;
use crate::x509::certs::{self, CertInfo};
use crate::x509::path::{self, PathError, Violation};
use crate::x509::revocation::{self, Evidence, RevocationStatus};
use crate::{ValidationPolicy, unix};

/// How missing or failing revocation data counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RevocationMode {
    /// Every certificate of the path below the anchor needs usable revocation data that says
    /// it is not revoked.
    #[default]
    Require,
    /// Revocation data that is present must check out; a certificate without any is accepted.
    HardFail,
    /// Revocation failures are noted, never fatal.
    SoftFail,
}

/// A certificate whose path was validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidPath {
    /// Subjects from the certificate (first) to the trust anchor (last).
    pub subjects: Vec<String>,
    /// What revocation checking found or could not find, one note per certificate.
    pub notes: Vec<String>,
}

/// Why a certificate was refused: the EN 319 102-1 sub-indication, the certificate that
/// failed (its subject) and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertificateRefusal {
    /// The sub-indication (NO_CERTIFICATE_CHAIN_FOUND, REVOKED, EXPIRED, ...).
    pub sub_indication: SubIndication,
    /// Subject of the certificate that failed.
    pub certificate: String,
    /// What was wrong, for a person.
    pub reason: String,
}

impl std::fmt::Display for CertificateRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.sub_indication, self.reason)
    }
}

/// Validates `certificate` (DER) against the trust anchors and CRLs of `policy`, with
/// `intermediates` (DER) as candidates for path building, at `at` (`None`: the policy's
/// validation time, else now).
pub fn validate_certificate(
    certificate: &[u8],
    intermediates: &[Vec<u8>],
    policy: &ValidationPolicy,
    at: Option<SystemTime>,
    mode: RevocationMode,
) -> Result<ValidPath, CertificateRefusal> {
    let refuse = |sub_indication, certificate: &str, reason: String| CertificateRefusal {
        sub_indication,
        certificate: certificate.to_string(),
        reason,
    };
    let Some(leaf) = CertInfo::parse(certificate) else {
        return Err(refuse(
            SubIndication::FormatFailure,
            "",
            "the certificate cannot be parsed as X.509 DER".into(),
        ));
    };
    let anchors = policy.parsed_anchors.get(&policy.trust_anchors);
    let pool = certs::parse_all(intermediates.iter().map(Vec::as_slice));
    let path = path::build(&leaf, &pool, &anchors).map_err(|PathError::NoChain(m)| {
        refuse(SubIndication::NoCertificateChainFound, &leaf.subject, m)
    })?;
    if let Some(v) = path::check_constraints(&path, false).into_iter().next() {
        let (Violation::Constraints(m) | Violation::NotYetValid(m) | Violation::Expired(m)) = v;
        return Err(refuse(
            SubIndication::ChainConstraintsFailure,
            &leaf.subject,
            m,
        ));
    }
    let now = unix(at.or(policy.validation_time).unwrap_or_else(SystemTime::now));
    if let Some((i, v)) = path::check_validity(&path, now).into_iter().next() {
        let subject = path.certs.get(i).map_or("", |c| c.subject.as_str());
        return Err(match v {
            Violation::NotYetValid(m) => refuse(SubIndication::NotYetValid, subject, m),
            Violation::Expired(m) | Violation::Constraints(m) => {
                refuse(SubIndication::Expired, subject, m)
            }
        });
    }
    let evidence = Evidence {
        crls: &policy.crls,
        ocsps: &[],
        certs: &[],
        now,
    };
    let mut notes = Vec::new();
    for pair in path.certs.windows(2) {
        let [cert, issuer] = pair else { continue };
        let outcome = revocation::check_all(cert, issuer, &evidence);
        match outcome.status {
            RevocationStatus::Revoked { date, reason } if mode != RevocationMode::SoftFail => {
                let why = reason.map(|r| format!(" ({r})")).unwrap_or_default();
                return Err(refuse(
                    SubIndication::Revoked,
                    &cert.subject,
                    format!(
                        "{} was revoked on {}{why} ({})",
                        cert.subject,
                        crate::fmt_time(date),
                        outcome.source
                    ),
                ));
            }
            RevocationStatus::Revoked { .. } => notes.push(format!(
                "{} is revoked (soft-fail: not fatal)",
                cert.subject
            )),
            RevocationStatus::Unknown(why) if mode == RevocationMode::Require => {
                return Err(refuse(SubIndication::TryLater, &cert.subject, why));
            }
            RevocationStatus::Unknown(why) => notes.push(why),
            RevocationStatus::Good { .. } => {
                notes.push(format!("{}: not revoked ({})", cert.subject, outcome.source));
            }
        }
        notes.extend(outcome.notes);
    }
    Ok(ValidPath {
        subjects: path.certs.iter().map(|c| c.subject.clone()).collect(),
        notes,
    })
}
