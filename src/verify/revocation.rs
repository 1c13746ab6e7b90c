//! Revocation checks against CRLs: the CRL's signature is checked with the issuer's key
//! (which must allow cRLSign), then the certificate's serial is looked up.

use x509_parser::prelude::{CertificateRevocationList, FromDer};

use super::certs::{CertInfo, strip_zeros};
use super::crypto;

/// The revocation status of one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevocationStatus {
    /// A valid CRL from the issuer does not list it.
    Good {
        /// thisUpdate of the CRL used.
        this_update: i64,
        /// nextUpdate of the CRL used, if any.
        next_update: Option<i64>,
    },
    /// Listed on a valid CRL.
    Revoked {
        /// revocationDate.
        date: i64,
        /// reasonCode, if given.
        reason: Option<String>,
    },
    /// No usable CRL for this certificate.
    Unknown(String),
}

/// Looks `cert` up in the CRLs issued by `issuer`.
pub fn check(cert: &CertInfo, issuer: &CertInfo, crls: &[Vec<u8>]) -> RevocationStatus {
    let mut notes = Vec::new();
    let mut best_good: Option<(i64, Option<i64>)> = None;
    for der in crls {
        let Ok((_, crl)) = CertificateRevocationList::from_der(der) else {
            continue;
        };
        if crl.issuer().as_raw() != issuer.subject_raw.as_slice()
            || cert.issuer_raw != issuer.subject_raw
        {
            continue;
        }
        if let Some(ku) = issuer.key_usage
            && !ku.crl_sign
        {
            notes.push(format!("{} may not sign CRLs (no cRLSign)", issuer.subject));
            continue;
        }
        if let Err(e) = crypto::verify_signed_structure(crl.as_raw(), &issuer.spki) {
            notes.push(format!(
                "CRL of {} has a bad signature: {e}",
                issuer.subject
            ));
            continue;
        }
        for rc in crl.iter_revoked_certificates() {
            if strip_zeros(rc.raw_serial()) == cert.serial.as_slice() {
                let reason = rc.reason_code().map(|(_, r)| format!("{r}"));
                return RevocationStatus::Revoked {
                    date: rc.revocation_date.timestamp(),
                    reason,
                };
            }
        }
        let this = crl.last_update().timestamp();
        let next = crl.next_update().map(|t| t.timestamp());
        if best_good.is_none_or(|(t, _)| this > t) {
            best_good = Some((this, next));
        }
    }
    match best_good {
        Some((this_update, next_update)) => RevocationStatus::Good {
            this_update,
            next_update,
        },
        None if notes.is_empty() => {
            RevocationStatus::Unknown(format!("no CRL from {} was supplied", issuer.subject))
        }
        None => RevocationStatus::Unknown(notes.join("; ")),
    }
}
