//! Path building: every chain from a certificate through the certificates at hand to a trust
//! anchor, by issuer name (RFC 5280 §7.1 comparison), keys with matching identifiers first.
//! Depth, the paths offered and the steps taken are bounded; a certificate with the same name
//! and key as one already in the chain is not taken again (loops), so building stays cheap
//! whatever the pool holds. Signatures and constraints are judged by the caller.

use crate::x509::certs::CertInfo;

/// Longest chain built (certificates, anchor included).
pub const MAX_DEPTH: usize = 12;
/// Most complete paths offered to the judge.
const MAX_PATHS: usize = 64;
/// Most candidate issuers looked at while building.
const MAX_STEPS: usize = 2000;

/// The issuers of `child` among `set`, those whose key identifier matches first.
fn issuers<'a>(child: &CertInfo, set: &'a [CertInfo]) -> Vec<&'a CertInfo> {
    let mut out: Vec<&CertInfo> = set
        .iter()
        .filter(|c| c.subject_name == child.issuer_name)
        .collect();
    out.sort_by_key(|c| match (&child.aki, &c.ski) {
        (Some(a), Some(s)) if a == s => 0,
        (Some(_), Some(_)) => 2,
        _ => 1,
    });
    out
}

/// Offers every path from `leaf` to an anchor (leaf first, anchor last) to `judge` until it
/// returns true; returns whether it did, and how many paths were offered.
pub fn each_path(
    leaf: &CertInfo,
    pool: &[CertInfo],
    anchors: &[CertInfo],
    judge: &mut dyn FnMut(&[&CertInfo]) -> bool,
) -> (bool, usize) {
    if let Some(a) = anchors.iter().find(|a| a.same_as(leaf)) {
        return (judge(&[a]), 1);
    }
    let mut st = State {
        pool,
        anchors,
        judge,
        offered: 0,
        steps: 0,
    };
    let mut path = vec![leaf];
    let found = st.extend(&mut path);
    (found, st.offered)
}

struct State<'a, 'j> {
    pool: &'a [CertInfo],
    anchors: &'a [CertInfo],
    judge: &'j mut dyn FnMut(&[&CertInfo]) -> bool,
    offered: usize,
    steps: usize,
}

impl<'a> State<'a, '_> {
    fn extend(&mut self, path: &mut Vec<&'a CertInfo>) -> bool {
        let Some(child) = path.last().copied() else {
            return false;
        };
        for a in issuers(child, self.anchors) {
            if self.offered >= MAX_PATHS {
                return false;
            }
            self.offered += 1;
            path.push(a);
            let ok = (self.judge)(path);
            path.pop();
            if ok {
                return true;
            }
        }
        if path.len() + 1 >= MAX_DEPTH {
            return false;
        }
        for c in issuers(child, self.pool) {
            self.steps += 1;
            if self.steps > MAX_STEPS || self.offered >= MAX_PATHS {
                return false;
            }
            let looped = path
                .iter()
                .any(|p| p.same_as(c) || (p.subject_name == c.subject_name && p.spki == c.spki));
            if looped || self.anchors.iter().any(|a| a.same_as(c)) {
                continue;
            }
            path.push(c);
            if self.extend(path) {
                return true;
            }
            path.pop();
        }
        false
    }
}
