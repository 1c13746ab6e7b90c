//! Certification path building (signer → embedded certificates → trust anchor) and the
//! per-certificate constraints: signatures, validity, basicConstraints, keyUsage.

use crate::crypto;
use crate::x509::certs::CertInfo;

/// Longest path built.
const MAX_PATH: usize = 10;
/// Most candidate signature checks while building one path.
const MAX_ATTEMPTS: usize = 200;

/// A path from the end entity (first) to a trust anchor (last).
#[derive(Debug, Clone)]
pub struct CertPath {
    /// The certificates, end entity first, trust anchor last.
    pub certs: Vec<CertInfo>,
}

/// Why no path was built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    /// No issuer chain ends in a trust anchor.
    NoChain(String),
}

/// Builds a path from `leaf` through `pool` to one of `anchors`, checking each signature.
pub fn build(
    leaf: &CertInfo,
    pool: &[CertInfo],
    anchors: &[CertInfo],
) -> Result<CertPath, PathError> {
    let mut attempts = 0usize;
    let mut path = vec![leaf.clone()];
    if anchors.iter().any(|a| a.same_as(leaf)) {
        return Ok(CertPath { certs: path });
    }
    if extend(&mut path, pool, anchors, &mut attempts) {
        return Ok(CertPath { certs: path });
    }
    let top = path.last().map(|c| c.issuer.clone()).unwrap_or_default();
    Err(PathError::NoChain(format!(
        "no chain from {} to a trust anchor (issuer {top} not trusted)",
        leaf.subject
    )))
}

fn issuer_candidates<'a>(child: &CertInfo, set: &'a [CertInfo]) -> Vec<&'a CertInfo> {
    set.iter()
        .filter(|c| c.subject_raw == child.issuer_raw || c.subject == child.issuer)
        .filter(|c| match (&child.aki, &c.ski) {
            (Some(a), Some(s)) => a == s,
            _ => true,
        })
        .collect()
}

fn extend(
    path: &mut Vec<CertInfo>,
    pool: &[CertInfo],
    anchors: &[CertInfo],
    attempts: &mut usize,
) -> bool {
    let Some(child) = path.last().cloned() else {
        return false;
    };
    if path.len() > MAX_PATH {
        return false;
    }
    // A trust anchor that issued the child ends the path.
    for a in issuer_candidates(&child, anchors) {
        *attempts += 1;
        if *attempts > MAX_ATTEMPTS {
            return false;
        }
        if crypto::verify_signed_structure(&child.raw, &a.spki).is_ok() {
            path.push(a.clone());
            return true;
        }
    }
    for c in issuer_candidates(&child, pool) {
        if path.iter().any(|p| p.same_as(c)) {
            continue;
        }
        *attempts += 1;
        if *attempts > MAX_ATTEMPTS {
            return false;
        }
        if crypto::verify_signed_structure(&child.raw, &c.spki).is_err() {
            continue;
        }
        if anchors.iter().any(|a| a.same_as(c)) {
            path.push(c.clone());
            return true;
        }
        path.push(c.clone());
        if extend(path, pool, anchors, attempts) {
            return true;
        }
        path.pop();
    }
    false
}

/// A constraint violated by a certificate of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// basicConstraints/keyUsage/critical extensions/path length.
    Constraints(String),
    /// Not yet valid at the time given.
    NotYetValid(String),
    /// Expired at the time given.
    Expired(String),
}

/// Checks basicConstraints, keyUsage and unknown critical extensions along the path.
/// `leaf_needs` is the usage the end entity must allow.
pub fn check_constraints(path: &CertPath, leaf_is_tsa: bool) -> Vec<Violation> {
    let mut out = Vec::new();
    let n = path.certs.len();
    for (i, c) in path.certs.iter().enumerate() {
        let is_anchor = i + 1 == n && n > 1;
        if is_anchor {
            continue;
        }
        if !c.unknown_critical.is_empty() {
            out.push(Violation::Constraints(format!(
                "{} has unsupported critical extensions {:?}",
                c.subject, c.unknown_critical
            )));
        }
        if i == 0 {
            if let Some(ku) = c.key_usage
                && !(ku.digital_signature || ku.non_repudiation)
            {
                out.push(Violation::Constraints(format!(
                    "{}: keyUsage allows neither digitalSignature nor nonRepudiation",
                    c.subject
                )));
            }
            if leaf_is_tsa && !c.eku_time_stamping {
                out.push(Violation::Constraints(format!(
                    "{}: not a time-stamping certificate (no id-kp-timeStamping)",
                    c.subject
                )));
            }
        } else {
            match c.basic_constraints {
                Some((true, path_len)) => {
                    // Intermediate CAs below this one (self-issued ones do not count).
                    let below = path
                        .certs
                        .iter()
                        .take(i)
                        .skip(1)
                        .filter(|x| !x.self_issued())
                        .count();
                    if let Some(max) = path_len
                        && below > max as usize
                    {
                        out.push(Violation::Constraints(format!(
                            "{}: pathLenConstraint {max} exceeded",
                            c.subject
                        )));
                    }
                }
                _ => out.push(Violation::Constraints(format!(
                    "{} issues certificates but is not a CA (basicConstraints)",
                    c.subject
                ))),
            }
            if let Some(ku) = c.key_usage
                && !ku.key_cert_sign
            {
                out.push(Violation::Constraints(format!(
                    "{}: keyUsage lacks keyCertSign",
                    c.subject
                )));
            }
        }
    }
    out
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
