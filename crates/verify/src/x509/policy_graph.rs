//! Certificate policy processing (RFC 5280 §6.1.2–§6.1.5) with the policy graph of RFC 9618
//! instead of the policy tree: one node per policy and depth, a node may have several parents,
//! so the structure stays polynomial in the number of policies whatever the certificates say.

use std::collections::{BTreeMap, BTreeSet};

/// anyPolicy.
pub const ANY_POLICY: &str = "2.5.29.32.0";
/// Most nodes kept at one depth (a certificate asserting more policies is refused).
const MAX_NODES: usize = 512;

/// One node: a valid policy, the policies expected in the next certificate, its parents
/// (indices into the depth above).
#[derive(Debug, Clone)]
struct Node {
    policy: String,
    expected: Vec<String>,
    parents: Vec<usize>,
}

/// The initial settings of RFC 5280 §6.1.1 (c), (e), (f), (g).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyInputs {
    /// user-initial-policy-set; empty means {anyPolicy}.
    pub user_initial_policy_set: Vec<String>,
    /// initial-explicit-policy.
    pub initial_explicit_policy: bool,
    /// initial-policy-mapping-inhibit.
    pub initial_policy_mapping_inhibit: bool,
    /// initial-any-policy-inhibit.
    pub initial_any_policy_inhibit: bool,
}

/// What a certificate says about policies.
#[derive(Debug, Clone, Copy)]
pub struct CertPolicies<'a> {
    /// certificatePolicies OIDs (`None`: no extension).
    pub policies: Option<&'a [String]>,
    /// policyMappings (issuerDomainPolicy, subjectDomainPolicy).
    pub mappings: &'a [(String, String)],
    /// policyConstraints requireExplicitPolicy.
    pub require_explicit: Option<u32>,
    /// policyConstraints inhibitPolicyMapping.
    pub inhibit_mapping: Option<u32>,
    /// inhibitAnyPolicy skipCerts.
    pub inhibit_any: Option<u32>,
    /// Subject equals issuer.
    pub self_issued: bool,
}

/// The policy state variables of RFC 5280 §6.1.2 with the graph.
#[derive(Debug, Clone)]
pub struct PolicyState {
    /// The graph by depth (depth 0: the anyPolicy root); `None` is NULL.
    levels: Option<Vec<Vec<Node>>>,
    explicit_policy: usize,
    policy_mapping: usize,
    inhibit_any: usize,
    n: usize,
}

impl PolicyState {
    /// The state before the first certificate of a path of `n` certificates (anchor excluded).
    pub fn new(n: usize, inputs: &PolicyInputs) -> Self {
        let start = |inhibit: bool| if inhibit { 0 } else { n + 1 };
        PolicyState {
            levels: Some(vec![vec![Node {
                policy: ANY_POLICY.into(),
                expected: vec![ANY_POLICY.into()],
                parents: Vec::new(),
            }]]),
            explicit_policy: start(inputs.initial_explicit_policy),
            policy_mapping: start(inputs.initial_policy_mapping_inhibit),
            inhibit_any: start(inputs.initial_any_policy_inhibit),
            n,
        }
    }

    /// §6.1.3 (d)–(f) for certificate `i` (1-based).
    pub fn process(&mut self, i: usize, cert: &CertPolicies<'_>) -> Result<(), String> {
        match (self.levels.as_mut(), cert.policies) {
            (Some(levels), Some(policies)) => {
                let any_allowed = self.inhibit_any > 0 || (i < self.n && cert.self_issued);
                let level = next_level(levels.last().map_or(&[][..], |l| l), policies, any_allowed);
                if level.len() > MAX_NODES {
                    return Err(format!("more than {MAX_NODES} policy nodes"));
                }
                levels.push(level);
                prune(levels);
                if levels.last().is_none_or(|l| l.is_empty()) {
                    self.levels = None;
                }
            }
            _ => self.levels = None,
        }
        if self.explicit_policy == 0 && self.levels.is_none() {
            return Err("an explicit policy is required and no acceptable policy remains".into());
        }
        Ok(())
    }

    /// §6.1.4 (a), (b), (h)–(j): policy mappings and constraints before the next certificate.
    pub fn prepare_next(&mut self, cert: &CertPolicies<'_>) -> Result<(), String> {
        if cert
            .mappings
            .iter()
            .any(|(a, b)| a == ANY_POLICY || b == ANY_POLICY)
        {
            return Err("policyMappings maps to or from anyPolicy".into());
        }
        let mut by_issuer: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (a, b) in cert.mappings {
            let e = by_issuer.entry(a.as_str()).or_default();
            if !e.contains(b) {
                e.push(b.clone());
            }
        }
        if let Some(levels) = self.levels.as_mut()
            && !by_issuer.is_empty()
        {
            apply_mappings(levels, &by_issuer, self.policy_mapping > 0);
            if levels.last().is_none_or(|l| l.is_empty()) {
                self.levels = None;
            }
        }
        if !cert.self_issued {
            for v in [
                &mut self.explicit_policy,
                &mut self.policy_mapping,
                &mut self.inhibit_any,
            ] {
                *v = v.saturating_sub(1);
            }
        }
        let min = |v: &mut usize, c: Option<u32>| {
            if let Some(c) = c {
                *v = (*v).min(c as usize);
            }
        };
        min(&mut self.explicit_policy, cert.require_explicit);
        min(&mut self.policy_mapping, cert.inhibit_mapping);
        min(&mut self.inhibit_any, cert.inhibit_any);
        Ok(())
    }

    /// §6.1.5 (a), (b), (g) after the last certificate: the valid policies in the trust
    /// anchor's domain (`anyPolicy` when any), or `Err` when the path needs an explicit
    /// policy and none of the user's is valid.
    pub fn wrap_up(
        &mut self,
        cert: &CertPolicies<'_>,
        inputs: &PolicyInputs,
    ) -> Result<Vec<String>, String> {
        self.explicit_policy = self.explicit_policy.saturating_sub(1);
        if cert.require_explicit == Some(0) {
            self.explicit_policy = 0;
        }
        let user: BTreeSet<&str> = inputs
            .user_initial_policy_set
            .iter()
            .map(String::as_str)
            .collect();
        let user_any = user.is_empty() || user.contains(ANY_POLICY);
        let valid = match &self.levels {
            None => Vec::new(),
            Some(levels) => intersect(levels, &user, user_any),
        };
        if valid.is_empty() && self.explicit_policy == 0 {
            return Err(if self.levels.is_none() {
                "an explicit policy is required and the path asserts none".into()
            } else {
                "an explicit policy is required and none of the acceptable policies is valid".into()
            });
        }
        Ok(valid)
    }
}

/// The nodes of the next depth for a certificate asserting `policies` (§6.1.3 (d)(1)–(2)).
fn next_level(prev: &[Node], policies: &[String], any_allowed: bool) -> Vec<Node> {
    let mut level: Vec<Node> = Vec::new();
    let mut seen = BTreeSet::new();
    for p in policies.iter().filter(|p| p.as_str() != ANY_POLICY) {
        if !seen.insert(p.as_str()) {
            continue;
        }
        let mut parents: Vec<usize> = (0..prev.len())
            .filter(|&j| prev[j].expected.contains(p))
            .collect();
        if parents.is_empty() {
            parents = (0..prev.len())
                .filter(|&j| prev[j].policy == ANY_POLICY)
                .collect();
        }
        if !parents.is_empty() {
            level.push(node(p, parents));
        }
    }
    if any_allowed && policies.iter().any(|p| p == ANY_POLICY) {
        let expected: BTreeSet<&String> = prev.iter().flat_map(|n| n.expected.iter()).collect();
        for e in expected {
            if level.iter().any(|n| &n.policy == e) {
                continue;
            }
            let parents = (0..prev.len())
                .filter(|&j| prev[j].expected.contains(e))
                .collect();
            level.push(node(e, parents));
        }
    }
    level
}

fn node(p: &str, parents: Vec<usize>) -> Node {
    Node {
        policy: p.to_string(),
        expected: vec![p.to_string()],
        parents,
    }
}

/// §6.1.4 (b): mappings change what the next certificate is expected to assert, or, with
/// policy mapping inhibited, remove the mapped policies.
fn apply_mappings(
    levels: &mut [Vec<Node>],
    by_issuer: &BTreeMap<&str, Vec<String>>,
    allowed: bool,
) {
    let Some(last) = levels.last_mut() else {
        return;
    };
    if allowed {
        let any_parents = last
            .iter()
            .find(|n| n.policy == ANY_POLICY)
            .map(|n| n.parents.clone());
        for (idp, sdps) in by_issuer {
            if let Some(n) = last.iter_mut().find(|n| n.policy == *idp) {
                n.expected = sdps.clone();
            } else if let Some(parents) = &any_parents {
                last.push(Node {
                    policy: (*idp).to_string(),
                    expected: sdps.clone(),
                    parents: parents.clone(),
                });
            }
        }
    } else {
        last.retain(|n| !by_issuer.contains_key(n.policy.as_str()));
        prune(levels);
    }
}

/// Removes, depth by depth upwards, the nodes that have no child (§6.1.3 (d)(3)).
fn prune(levels: &mut [Vec<Node>]) {
    for k in (0..levels.len().saturating_sub(1)).rev() {
        let (upper, lower) = levels.split_at_mut(k + 1);
        let (Some(level), Some(below)) = (upper.last_mut(), lower.first_mut()) else {
            continue;
        };
        let mut has_child = vec![false; level.len()];
        for c in below.iter() {
            for &p in &c.parents {
                if let Some(h) = has_child.get_mut(p) {
                    *h = true;
                }
            }
        }
        let mut new_index = vec![usize::MAX; level.len()];
        let mut kept = 0;
        for (j, h) in has_child.iter().enumerate() {
            if *h {
                new_index[j] = kept;
                kept += 1;
            }
        }
        let mut j = 0;
        level.retain(|_| {
            let keep = has_child[j];
            j += 1;
            keep
        });
        for c in below.iter_mut() {
            c.parents = c.parents.iter().map(|&p| new_index[p]).collect();
        }
    }
}

/// §6.1.5 (g): the policies in the trust anchor's domain that each node of the last depth
/// comes from, restricted to the user's set.
fn intersect(levels: &[Vec<Node>], user: &BTreeSet<&str>, user_any: bool) -> Vec<String> {
    // For each node, the first policy other than anyPolicy on its way up (in the anchor's
    // domain); anyPolicy when the whole way is anyPolicy.
    let mut origin: Vec<BTreeSet<String>> = vec![BTreeSet::from([ANY_POLICY.to_string()])];
    for level in levels.iter().skip(1) {
        let mut next = Vec::with_capacity(level.len());
        for n in level {
            let mut set = BTreeSet::new();
            for &p in &n.parents {
                match origin.get(p) {
                    Some(o) if o.contains(ANY_POLICY) && n.policy != ANY_POLICY => {
                        set.insert(n.policy.clone());
                    }
                    Some(o) => set.extend(o.iter().cloned()),
                    None => {}
                }
            }
            next.push(set);
        }
        origin = next;
    }
    let mut out: BTreeSet<String> = BTreeSet::new();
    for o in origin {
        for p in o {
            if user_any {
                out.insert(p);
            } else if p == ANY_POLICY {
                out.extend(user.iter().map(|u| u.to_string()));
            } else if user.contains(p.as_str()) {
                out.insert(p);
            }
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert<'a>(p: Option<&'a [String]>) -> CertPolicies<'a> {
        CertPolicies {
            policies: p,
            mappings: &[],
            require_explicit: None,
            inhibit_mapping: None,
            inhibit_any: None,
            self_issued: false,
        }
    }

    #[test]
    fn one_policy_through_a_path() {
        let p1 = vec!["1.2.3".to_string()];
        let inputs = PolicyInputs {
            initial_explicit_policy: true,
            ..PolicyInputs::default()
        };
        let mut s = PolicyState::new(2, &inputs);
        s.process(1, &cert(Some(&p1))).expect("ca");
        s.prepare_next(&cert(Some(&p1))).expect("prepare");
        s.process(2, &cert(Some(&p1))).expect("ee");
        assert_eq!(s.wrap_up(&cert(Some(&p1)), &inputs), Ok(p1.clone()));
    }

    #[test]
    fn explicit_policy_without_policies_fails() {
        let inputs = PolicyInputs {
            initial_explicit_policy: true,
            ..PolicyInputs::default()
        };
        let mut s = PolicyState::new(1, &inputs);
        assert!(s.process(1, &cert(None)).is_err());
    }
}
