//! Certificates as the verifier needs them: an owned summary of each X.509 certificate.

use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::x509::dist_points;
use crate::x509::name_constraints::Subtrees;
use crate::x509::names::{self, DistPoint, GName, Name};

/// Extensions the path checks understand (a critical extension outside this list fails).
const KNOWN_EXTENSIONS: &[&str] = &[
    "2.5.29.14",            // subjectKeyIdentifier
    "2.5.29.15",            // keyUsage
    "2.5.29.17",            // subjectAltName
    "2.5.29.18",            // issuerAltName
    "2.5.29.19",            // basicConstraints
    "2.5.29.30",            // nameConstraints
    "2.5.29.31",            // cRLDistributionPoints
    "2.5.29.32",            // certificatePolicies
    "2.5.29.33",            // policyMappings
    "2.5.29.35",            // authorityKeyIdentifier
    "2.5.29.36",            // policyConstraints
    "2.5.29.37",            // extKeyUsage
    "2.5.29.46",            // freshestCRL
    "2.5.29.54",            // inhibitAnyPolicy
    "1.3.6.1.5.5.7.1.1",    // authorityInfoAccess
    "1.3.6.1.5.5.7.1.3",    // qcStatements
    "1.3.6.1.5.5.7.48.1.5", // id-pkix-ocsp-nocheck
];

/// Key usage bits the verifier checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyUsageBits {
    /// digitalSignature
    pub digital_signature: bool,
    /// nonRepudiation / contentCommitment
    pub non_repudiation: bool,
    /// keyCertSign
    pub key_cert_sign: bool,
    /// cRLSign
    pub crl_sign: bool,
}

/// An owned, parsed certificate.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// The DER encoding.
    pub raw: Vec<u8>,
    /// DER of the subject Name.
    pub subject_raw: Vec<u8>,
    /// DER of the issuer Name.
    pub issuer_raw: Vec<u8>,
    /// Subject in RFC 4514 style.
    pub subject: String,
    /// Issuer in RFC 4514 style.
    pub issuer: String,
    /// Serial number content octets, leading zeros stripped.
    pub serial: Vec<u8>,
    /// Serial number content octets as encoded (two's complement; CRL entries match these).
    pub serial_raw: Vec<u8>,
    /// DER of SubjectPublicKeyInfo.
    pub spki: Vec<u8>,
    /// notBefore (Unix seconds).
    pub not_before: i64,
    /// notAfter (Unix seconds).
    pub not_after: i64,
    /// basicConstraints (cA, pathLenConstraint), if present.
    pub basic_constraints: Option<(bool, Option<u32>)>,
    /// keyUsage, if present.
    pub key_usage: Option<KeyUsageBits>,
    /// subjectKeyIdentifier.
    pub ski: Option<Vec<u8>>,
    /// authorityKeyIdentifier keyIdentifier.
    pub aki: Option<Vec<u8>>,
    /// extKeyUsage includes id-kp-timeStamping.
    pub eku_time_stamping: bool,
    /// Critical extensions this verifier does not understand.
    pub unknown_critical: Vec<String>,
    /// The subject, normalised for comparisons.
    pub subject_name: Name,
    /// The issuer, normalised for comparisons.
    pub issuer_name: Name,
    /// subjectAltName entries.
    pub alt_names: Vec<GName>,
    /// nameConstraints, if present.
    pub name_constraints: Option<Subtrees>,
    /// certificatePolicies OIDs (`None`: no extension).
    pub policies: Option<Vec<String>>,
    /// policyMappings (issuerDomainPolicy, subjectDomainPolicy).
    pub policy_mappings: Vec<(String, String)>,
    /// policyConstraints requireExplicitPolicy.
    pub require_explicit_policy: Option<u32>,
    /// policyConstraints inhibitPolicyMapping.
    pub inhibit_policy_mapping: Option<u32>,
    /// inhibitAnyPolicy skipCerts.
    pub inhibit_any_policy: Option<u32>,
    /// cRLDistributionPoints (`None`: no extension).
    pub crl_dps: Option<Vec<DistPoint>>,
    /// freshestCRL (delta CRL distribution points), if present.
    pub freshest_crl: Option<Vec<DistPoint>>,
    /// A critical extension the parser could not read (the certificate is refused for it).
    pub malformed: Option<String>,
}

impl CertInfo {
    /// Parses a DER certificate; `None` when it is not one.
    pub fn parse(der: &[u8]) -> Option<CertInfo> {
        let (_, c) = X509Certificate::from_der(der).ok()?;
        let raw = der.get(..c.as_raw().len())?.to_vec();
        let mut info = CertInfo {
            raw,
            subject_raw: c.subject().as_raw().to_vec(),
            issuer_raw: c.issuer().as_raw().to_vec(),
            subject: c.subject().to_string(),
            issuer: c.issuer().to_string(),
            serial: strip_zeros(c.raw_serial()).to_vec(),
            serial_raw: c.raw_serial().to_vec(),
            spki: c.public_key().raw.to_vec(),
            not_before: c.validity().not_before.timestamp(),
            not_after: c.validity().not_after.timestamp(),
            basic_constraints: None,
            key_usage: None,
            ski: None,
            aki: None,
            eku_time_stamping: false,
            unknown_critical: Vec::new(),
            subject_name: Name::from_x509(c.subject()),
            issuer_name: Name::from_x509(c.issuer()),
            alt_names: Vec::new(),
            name_constraints: None,
            policies: None,
            policy_mappings: Vec::new(),
            require_explicit_policy: None,
            inhibit_policy_mapping: None,
            inhibit_any_policy: None,
            crl_dps: None,
            freshest_crl: None,
            malformed: None,
        };
        for ext in c.extensions() {
            let oid = ext.oid.to_id_string();
            let own_parser = ["2.5.29.31", "2.5.29.46"].contains(&oid.as_str());
            if let ParsedExtension::ParseError { error } = ext.parsed_extension()
                && ext.critical
                && !own_parser
            {
                info.malformed = Some(format!("{}: {error}", ext.oid.to_id_string()));
            }
            info.read_path_extension(&oid, ext.value, ext.parsed_extension());
            if ext.critical && !KNOWN_EXTENSIONS.contains(&oid.as_str()) {
                info.unknown_critical.push(oid.clone());
            }
            match ext.parsed_extension() {
                ParsedExtension::BasicConstraints(bc) => {
                    info.basic_constraints = Some((bc.ca, bc.path_len_constraint));
                }
                ParsedExtension::KeyUsage(ku) => {
                    info.key_usage = Some(KeyUsageBits {
                        digital_signature: ku.digital_signature(),
                        non_repudiation: ku.non_repudiation(),
                        key_cert_sign: ku.key_cert_sign(),
                        crl_sign: ku.crl_sign(),
                    });
                }
                ParsedExtension::SubjectKeyIdentifier(k) => info.ski = Some(k.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(a) => {
                    info.aki = a.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                ParsedExtension::ExtendedKeyUsage(e) => info.eku_time_stamping = e.time_stamping,
                _ => {}
            }
        }
        Some(info)
    }

    /// Reads the extensions path validation needs beyond the basic ones.
    fn read_path_extension(&mut self, oid: &str, value: &[u8], parsed: &ParsedExtension<'_>) {
        match parsed {
            ParsedExtension::SubjectAlternativeName(san) => {
                self.alt_names = names::gnames(&san.general_names);
            }
            ParsedExtension::NameConstraints(nc) => {
                let bases = |v: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
                    v.as_ref().map(|t| {
                        t.iter()
                            .map(|s| GName::from_x509(&s.base))
                            .collect::<Vec<_>>()
                    })
                };
                self.name_constraints = Some(Subtrees {
                    permitted: bases(&nc.permitted_subtrees),
                    excluded: bases(&nc.excluded_subtrees).unwrap_or_default(),
                });
            }
            ParsedExtension::CertificatePolicies(p) => {
                self.policies = Some(p.iter().map(|i| i.policy_id.to_id_string()).collect());
            }
            ParsedExtension::PolicyMappings(m) => {
                self.policy_mappings = m
                    .mappings
                    .iter()
                    .map(|m| {
                        (
                            m.issuer_domain_policy.to_id_string(),
                            m.subject_domain_policy.to_id_string(),
                        )
                    })
                    .collect();
            }
            ParsedExtension::PolicyConstraints(pc) => {
                self.require_explicit_policy = pc.require_explicit_policy;
                self.inhibit_policy_mapping = pc.inhibit_policy_mapping;
            }
            ParsedExtension::InhibitAnyPolicy(i) => self.inhibit_any_policy = Some(i.skip_certs),
            _ if oid == "2.5.29.31" => {
                // Unreadable: no distribution point is in scope (never a wider one).
                self.crl_dps = Some(
                    dist_points::parse_dist_points(value, &self.issuer_name).unwrap_or_default(),
                );
            }
            _ if oid == "2.5.29.46" => {
                self.freshest_crl = Some(
                    dist_points::parse_dist_points(value, &self.issuer_name).unwrap_or_default(),
                );
            }
            _ => {}
        }
    }

    /// Is a CA (basicConstraints cA true).
    pub fn is_ca(&self) -> bool {
        matches!(self.basic_constraints, Some((true, _)))
    }

    /// The names name constraints apply to: the subject (when not empty), its emailAddress
    /// attributes as rfc822 names, and the subjectAltName entries.
    pub fn constrained_names(&self) -> Vec<GName> {
        let mut out = Vec::new();
        if !self.subject_name.is_empty() {
            out.push(GName::Dir(self.subject_name.clone()));
        }
        out.extend(self.subject_name.emails().into_iter().map(GName::Email));
        out.extend(self.alt_names.iter().cloned());
        out
    }

    /// Serial as uppercase hex.
    pub fn serial_hex(&self) -> String {
        if self.serial.is_empty() {
            "00".into()
        } else {
            hex::encode_upper(&self.serial)
        }
    }

    /// Self-issued (subject equals issuer, compared as RFC 5280 §7.1 says).
    pub fn self_issued(&self) -> bool {
        self.subject_raw == self.issuer_raw || self.subject_name == self.issuer_name
    }

    /// Same certificate (same DER).
    pub fn same_as(&self, other: &CertInfo) -> bool {
        self.raw == other.raw
    }
}

/// Integer content without leading zero octets.
pub fn strip_zeros(v: &[u8]) -> &[u8] {
    let p = v.iter().position(|b| *b != 0).unwrap_or(v.len());
    v.get(p..).unwrap_or_default()
}

/// Parses every certificate in `ders`, skipping the unreadable ones, without duplicates.
pub fn parse_all<'a>(ders: impl IntoIterator<Item = &'a [u8]>) -> Vec<CertInfo> {
    let mut out: Vec<CertInfo> = Vec::new();
    for d in ders {
        if let Some(c) = CertInfo::parse(d)
            && !out.iter().any(|o| o.same_as(&c))
        {
            out.push(c);
        }
    }
    out
}

/// Trust anchors parsed once and reused while the policy's DER list stays the same (a
/// service verifies many files against one set). Clones share the cache.
#[derive(Clone, Default)]
pub struct ParsedAnchors(std::sync::Arc<std::sync::Mutex<Option<AnchorSet>>>);

/// The DER list a cached parse came from, and the parse.
type AnchorSet = (Vec<Vec<u8>>, std::sync::Arc<Vec<CertInfo>>);

impl ParsedAnchors {
    /// The parsed form of `ders`, from the cache when `ders` is the list parsed last time.
    pub fn get(&self, ders: &[Vec<u8>]) -> std::sync::Arc<Vec<CertInfo>> {
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((key, parsed)) = slot.as_ref()
            && key.as_slice() == ders
        {
            return parsed.clone();
        }
        let parsed = std::sync::Arc::new(parse_all(ders.iter().map(Vec::as_slice)));
        *slot = Some((ders.to_vec(), parsed.clone()));
        parsed
    }
}

impl std::fmt::Debug for ParsedAnchors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParsedAnchors")
    }
}
