//! A validated certification path as the PDF verifier uses it, and its validity periods
//! (judged there with proofs of existence; the rest of RFC 5280 is in `validate`).

use crate::x509::certs::CertInfo;

/// A path from the end entity (first) to a trust anchor (last).
#[derive(Debug, Clone)]
pub struct CertPath {
    /// The certificates, end entity first, trust anchor last.
    pub certs: Vec<CertInfo>,
}

/// A constraint violated by a certificate of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Not yet valid at the time given.
    NotYetValid(String),
    /// Expired at the time given.
    Expired(String),
}

/// Checks the validity period of every certificate but the trust anchor at time `t`.
pub fn check_validity(path: &CertPath, t: i64) -> Vec<(usize, Violation)> {
    let mut out = Vec::new();
    let n = path.certs.len();
    for (i, c) in path.certs.iter().enumerate() {
        if i + 1 == n && n > 1 {
            continue;
        }
        if t < c.not_before {
            out.push((
                i,
                Violation::NotYetValid(format!(
                    "{} is not valid before {}",
                    c.subject,
                    crate::fmt_time(c.not_before)
                )),
            ));
        } else if t > c.not_after {
            out.push((
                i,
                Violation::Expired(format!(
                    "{} expired on {}",
                    c.subject,
                    crate::fmt_time(c.not_after)
                )),
            ));
        }
    }
    out
}
