//! The certificate profile for callers: how a client certificate names its holder's role
//! and agency (docs/ARCHITECTURE.md, "Identities").
//!
//! - role: exactly one certificate policy under [`ROLE_POLICY_ARC`] (`.1` clerk, `.2`
//!   certifier, `.3` admin, `.4` verifier, `.5` citizen portal), the way a provincial CA
//!   marks the purpose a certificate was issued for;
//! - agency: the subject's `organizationIdentifier` (2.5.4.97), the agency's e-identifier
//!   code (QĐ 20/2020/QĐ-TTg), e.g. `H72.21.01`;
//! - the holder's name: the subject's commonName;
//! - extendedKeyUsage must include id-kp-clientAuth.

use x509_parser::prelude::*;

use crate::error_kind::ErrorKind;
use crate::hash::sha256_hex;

/// The arc of saoy's role policies: a UUID-based OID (ITU-T X.667), needing no registry.
pub const ROLE_POLICY_ARC: &str = "2.25.44887193101188680162608860378438511454";

/// The UUID of [`ROLE_POLICY_ARC`] as an integer (its arcs do not fit 64 bits, so OIDs are
/// compared as DER content bytes, never as text).
const ROLE_ARC_UUID: u128 = 44_887_193_101_188_680_162_608_860_378_438_511_454;

/// Appends one arc in base 128 (X.690 §8.19).
fn push_arc(out: &mut Vec<u8>, mut arc: u128) {
    let mut groups = vec![(arc & 0x7f) as u8];
    arc >>= 7;
    while arc > 0 {
        groups.push((arc & 0x7f) as u8 | 0x80);
        arc >>= 7;
    }
    out.extend(groups.iter().rev());
}

/// The DER content octets of the role arc (2.25.UUID).
fn role_arc_content() -> Vec<u8> {
    let mut out = Vec::new();
    push_arc(&mut out, 2 * 40 + 25);
    push_arc(&mut out, ROLE_ARC_UUID);
    out
}

/// organizationIdentifier (X.520).
const OID_ORGANIZATION_IDENTIFIER: &str = "2.5.4.97";

/// What a caller does for its agency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// A clerk at the one-stop counter: takes originals, starts certifications.
    Clerk,
    /// The person who certifies copies for the agency.
    Certifier,
    /// The agency's administrator: revokes copies.
    Admin,
    /// Another agency that checks copies it is shown.
    Verifier,
    /// The citizen portal, acting for the citizen named in each call's assertion.
    Portal,
}

impl Role {
    /// Every role, in the order of their policy numbers.
    pub const ALL: [Role; 5] = [
        Role::Clerk,
        Role::Certifier,
        Role::Admin,
        Role::Verifier,
        Role::Portal,
    ];

    /// The last arc of this role's policy OID under [`ROLE_POLICY_ARC`].
    pub fn number(self) -> u64 {
        match self {
            Role::Clerk => 1,
            Role::Certifier => 2,
            Role::Admin => 3,
            Role::Verifier => 4,
            Role::Portal => 5,
        }
    }

    /// The policy OID, dotted.
    pub fn policy_oid(self) -> String {
        format!("{ROLE_POLICY_ARC}.{}", self.number())
    }

    /// The DER content octets of the policy OID.
    pub fn policy_oid_content(self) -> Vec<u8> {
        let mut out = role_arc_content();
        push_arc(&mut out, u128::from(self.number()));
        out
    }

    /// A DER `certificatePolicies` extension value naming this role (for CAs that issue
    /// client certificates; the test PKI uses it).
    pub fn certificate_policies_der(self) -> Vec<u8> {
        let oid = self.policy_oid_content();
        let mut policy = vec![0x06, oid.len() as u8];
        policy.extend(oid);
        let mut info = vec![0x30, policy.len() as u8];
        info.extend(policy);
        let mut all = vec![0x30, info.len() as u8];
        all.extend(info);
        all
    }

    /// The name used in logs, the audit log and messages.
    pub fn name(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Certifier => "certifier",
            Role::Admin => "admin",
            Role::Verifier => "verifier",
            Role::Portal => "portal",
        }
    }

    fn from_policy(content: &[u8]) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.policy_oid_content() == content)
    }
}

/// The holder of a client certificate, as its profile names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The role the certificate was issued for.
    pub role: Role,
    /// The agency's code (organizationIdentifier).
    pub agency: String,
    /// The subject's commonName.
    pub name: String,
    /// Hex SHA-256 of the DER certificate.
    pub fingerprint: String,
}

/// Why a certificate does not fit the profile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProfileError {
    /// Not a DER X.509 certificate.
    #[error("the client certificate cannot be parsed: {0}")]
    Unreadable(String),
    /// No role policy, more than one, or one that names no role.
    #[error(
        "the client certificate names {0} saoy role policies (under {ROLE_POLICY_ARC}); exactly one known role is needed"
    )]
    Roles(usize),
    /// No organizationIdentifier with an agency code.
    #[error(
        "the client certificate's subject has no organizationIdentifier (2.5.4.97) naming the agency"
    )]
    NoAgency,
    /// extendedKeyUsage without id-kp-clientAuth.
    #[error(
        "the client certificate is not for client authentication (extendedKeyUsage lacks clientAuth)"
    )]
    NotClientAuth,
}

impl ProfileError {
    /// Every profile failure means the caller is not identified.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Unauthenticated
    }
}

/// Reads the holder from a DER client certificate.
pub fn read_holder(der: &[u8]) -> Result<Holder, ProfileError> {
    let (_, cert) =
        X509Certificate::from_der(der).map_err(|e| ProfileError::Unreadable(e.to_string()))?;
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.client_auth => {}
        _ => return Err(ProfileError::NotClientAuth),
    }
    // Every policy under the role arc; one that names no known role counts, so that it
    // can never be read as another.
    let arc = role_arc_content();
    let mut roles: Vec<Option<Role>> = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CertificatePolicies(policies) = ext.parsed_extension() {
            for p in policies {
                let oid = p.policy_id.as_bytes();
                if oid.starts_with(&arc) {
                    roles.push(Role::from_policy(oid));
                }
            }
        }
    }
    let [Some(role)] = roles[..] else {
        return Err(ProfileError::Roles(roles.len()));
    };
    let agency = cert
        .subject()
        .iter_attributes()
        .find(|a| a.attr_type().to_id_string() == OID_ORGANIZATION_IDENTIFIER)
        .and_then(|a| a.as_str().ok())
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .ok_or(ProfileError::NoAgency)?
        .to_string();
    let name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|a| a.as_str().ok())
        .unwrap_or_default()
        .to_string();
    Ok(Holder {
        role,
        agency,
        name,
        fingerprint: sha256_hex(der),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arcs_are_base_128() {
        let mut out = Vec::new();
        push_arc(&mut out, 840);
        assert_eq!(out, [0x86, 0x48]);
        let mut out = Vec::new();
        push_arc(&mut out, 5);
        assert_eq!(out, [5]);
        // The role OIDs differ only in their last arc, and none is a prefix of another.
        let clerk = Role::Clerk.policy_oid_content();
        assert!(clerk.starts_with(&role_arc_content()));
        assert_ne!(clerk, Role::Admin.policy_oid_content());
        assert_eq!(Role::from_policy(&clerk), Some(Role::Clerk));
        assert_eq!(Role::from_policy(&role_arc_content()), None);
    }
}
