//! Certification path validation (RFC 5280 §6.1, policies with the RFC 9618 graph, CRLs with
//! the scope rules of §6.3): the one validator behind PDF signatures, time-stamps, CRL issuers
//! and [`validate_path`], the public entry point (for `saoy verify-cert` and TLS client
//! certificates).
//!
//! Every candidate path the builder offers is processed certificate by certificate, from the
//! one the trust anchor issued down to the end entity; the first that passes every step is
//! the answer. A refusal names the RFC 5280 step, the certificate and an EN 319 102-1
//! sub-indication.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::crypto::{self, CryptoError};
use crate::report::SubIndication;
use crate::x509::certs::{self, CertInfo};
use crate::x509::crl_scope::Crl;
use crate::x509::name_constraints::{self, Subtrees};
use crate::x509::path_build;
use crate::x509::policy_graph::{CertPolicies, PolicyInputs, PolicyState};
use crate::x509::revocation::{self, Evidence, RevocationStatus};

/// How revocation is judged for each certificate of the path but the trust anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RevocationMode {
    /// No usable, current CRL or OCSP status for a certificate: the path is not valid.
    #[default]
    Require,
    /// Data that speaks for a certificate must check out (a CRL past its nextUpdate is a
    /// failure); a certificate without any usable data is tolerated (noted).
    HardFail,
    /// Only a revocation is fatal; missing or stale data is noted.
    SoftFail,
}

impl RevocationMode {
    /// The name used by the CLI and reports (`require`, `hard-fail`, `soft-fail`).
    pub fn as_str(self) -> &'static str {
        match self {
            RevocationMode::Require => "require",
            RevocationMode::HardFail => "hard-fail",
            RevocationMode::SoftFail => "soft-fail",
        }
    }
}

/// What the end entity must be good for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum LeafUse {
    /// Nothing beyond RFC 5280.
    #[default]
    Any,
    /// Signing documents: keyUsage, if present, allows digitalSignature or nonRepudiation.
    Signing,
    /// Time-stamping: as signing, and extKeyUsage id-kp-timeStamping.
    TimeStamping,
}

/// The initial settings of a validation (RFC 5280 §6.1.1) and the revocation mode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathOptions {
    /// Revocation checking.
    pub revocation: RevocationMode,
    /// user-initial-policy-set (dotted OIDs); empty means anyPolicy.
    pub initial_policies: Vec<String>,
    /// initial-explicit-policy.
    pub require_explicit_policy: bool,
    /// initial-policy-mapping-inhibit.
    pub inhibit_policy_mapping: bool,
    /// initial-any-policy-inhibit.
    pub inhibit_any_policy: bool,
}

/// What one validation is given: DER certificates and CRLs, OCSP responses, a time.
#[derive(Debug, Clone, Copy)]
pub struct PathInput<'a> {
    /// The certificate to validate.
    pub end_entity: &'a [u8],
    /// Certificates that may be intermediates (or CRL signers), in any order.
    pub intermediates: &'a [Vec<u8>],
    /// The trust anchors (self-signed or not: only their names and keys count).
    pub trust_anchors: &'a [Vec<u8>],
    /// CRLs (complete and delta, direct and indirect).
    pub crls: &'a [Vec<u8>],
    /// DER OCSPResponses.
    pub ocsp_responses: &'a [Vec<u8>],
    /// The validation time.
    pub time: SystemTime,
}

/// One certificate of a path, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathCertificate {
    /// Subject (RFC 4514 style).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial number, hex.
    pub serial: String,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

/// A valid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidPath {
    /// End entity first, trust anchor last.
    pub certificates: Vec<PathCertificate>,
    /// The DER of each, in the same order.
    pub der: Vec<Vec<u8>>,
    /// The valid policies in the trust anchor's domain (`2.5.29.32.0` for anyPolicy; empty
    /// when the path is valid without policies).
    pub valid_policies: Vec<String>,
    /// What revocation checking found or could not check, one line per certificate.
    pub notes: Vec<String>,
}

/// Why a certificate has no valid path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathFailure {
    /// The EN 319 102-1 sub-indication (INDETERMINATE unless `Revoked`).
    pub sub_indication: SubIndication,
    /// The RFC 5280 step that refused it, e.g. `6.1.3 (b)`.
    pub rfc5280_step: &'static str,
    /// The refused certificate's subject, when one certificate is at fault.
    pub certificate: Option<String>,
    /// What is wrong, in words.
    pub detail: String,
    /// The path that came closest (end entity first), possibly empty.
    pub path: Vec<PathCertificate>,
}

impl std::fmt::Display for PathFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RFC 5280 {}: {} ({})",
            self.rfc5280_step,
            self.detail,
            sub_name(self.sub_indication)
        )
    }
}

/// The EN 319 102-1 name of a sub-indication (`CHAIN_CONSTRAINTS_FAILURE`, …).
pub fn sub_name(s: SubIndication) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A refusal inside the crate (the certificates by reference).
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    pub(crate) sub: SubIndication,
    pub(crate) step: &'static str,
    pub(crate) cert: Option<String>,
    pub(crate) detail: String,
    /// The path refused (end entity first); empty when none was built.
    pub(crate) path: Vec<CertInfo>,
}

fn refuse(sub: SubIndication, step: &'static str, c: &CertInfo, detail: String) -> Refusal {
    Refusal {
        sub,
        step,
        cert: Some(c.subject.clone()),
        detail: format!("{}: {detail}", c.subject),
        path: Vec::new(),
    }
}

/// What the crate's callers set for one validation.
#[derive(Clone, Copy)]
pub(crate) struct Setup<'a> {
    /// Certificates at hand (intermediates, CRL signers).
    pub(crate) pool: &'a [CertInfo],
    /// Trust anchors.
    pub(crate) anchors: &'a [CertInfo],
    /// Policy settings.
    pub(crate) policy: &'a PolicyInputs,
    /// What the end entity is for.
    pub(crate) leaf: LeafUse,
    /// Check validity periods at `now` (the PDF verifier judges them itself, with POE).
    pub(crate) check_validity: bool,
    /// Revocation checking (`None`: left to the caller).
    pub(crate) revocation: Option<RevocationMode>,
    /// CRLs, parsed.
    pub(crate) crls: &'a [Crl],
    /// OCSP responses.
    pub(crate) ocsps: &'a [Vec<u8>],
    /// The validation time (Unix seconds).
    pub(crate) now: i64,
}

/// Most nested validations (a CRL signer's path, its CRL signer's path …).
const MAX_NESTING: usize = 3;

/// A validated path: certificates (end entity first), valid policies, revocation notes.
#[derive(Debug, Clone)]
pub(crate) struct Validated {
    pub(crate) path: Vec<CertInfo>,
    pub(crate) policies: Vec<String>,
    pub(crate) notes: Vec<String>,
}

/// Validates `leaf` with `setup`: the first candidate path that passes, or the refusal of
/// the first path tried (no path at all: NO_CERTIFICATE_CHAIN_FOUND).
pub(crate) fn validate(leaf: &CertInfo, setup: &Setup<'_>) -> Result<Validated, Refusal> {
    validate_nested(leaf, setup, 0)
}

/// Validates `leaf` without revocation checking and with the default policy settings (the
/// PDF verifier's signers, time-stamp authorities and CRL signers; it judges revocation, and
/// validity with proofs of existence, itself).
pub(crate) fn structural(
    leaf: &CertInfo,
    pool: &[CertInfo],
    anchors: &[CertInfo],
    use_: LeafUse,
    validity_at: Option<i64>,
) -> Result<Validated, Refusal> {
    let policy = PolicyInputs::default();
    let setup = Setup {
        pool,
        anchors,
        policy: &policy,
        leaf: use_,
        check_validity: validity_at.is_some(),
        revocation: None,
        crls: &[],
        ocsps: &[],
        now: validity_at.unwrap_or(0),
    };
    validate(leaf, &setup)
}

fn validate_nested(leaf: &CertInfo, setup: &Setup<'_>, depth: usize) -> Result<Validated, Refusal> {
    let mut first: Option<Refusal> = None;
    let mut done: Option<Validated> = None;
    let (_, offered) =
        path_build::each_path(leaf, setup.pool, setup.anchors, &mut |p| match check_path(
            p, setup, depth,
        ) {
            Ok(v) => {
                done = Some(v);
                true
            }
            Err(mut r) => {
                if first.is_none() {
                    r.path = p.iter().map(|c| (*c).clone()).collect();
                    first = Some(r);
                }
                false
            }
        });
    if let Some(v) = done {
        return Ok(v);
    }
    Err(first.unwrap_or_else(|| Refusal {
        sub: SubIndication::NoCertificateChainFound,
        step: "6.1",
        cert: Some(leaf.subject.clone()),
        detail: format!(
            "no chain from {} to a trust anchor (issuer {}; {} other certificate(s) at hand, {offered} complete path(s))",
            leaf.subject,
            leaf.issuer,
            setup.pool.len()
        ),
        path: Vec::new(),
    }))
}

/// §6.1.2–§6.1.5 over one path (end entity first, trust anchor last).
fn check_path(path: &[&CertInfo], setup: &Setup<'_>, depth: usize) -> Result<Validated, Refusal> {
    let owned = || path.iter().map(|c| (*c).clone()).collect::<Vec<_>>();
    let Some((anchor, rest)) = path.split_last() else {
        return Err(Refusal {
            sub: SubIndication::NoCertificateChainFound,
            step: "6.1",
            cert: None,
            detail: "empty path".into(),
            path: Vec::new(),
        });
    };
    if rest.is_empty() {
        // The certificate is itself a trust anchor.
        return Ok(Validated {
            path: owned(),
            policies: vec![crate::x509::policy_graph::ANY_POLICY.into()],
            notes: Vec::new(),
        });
    }
    let chain: Vec<&CertInfo> = rest.iter().rev().copied().collect();
    let n = chain.len();
    let mut st = Walk {
        key: &anchor.spki,
        max_path: n,
        constraints: Vec::new(),
        policy: PolicyState::new(n, setup.policy),
    };
    let mut policies = Vec::new();
    for (k, cert) in chain.iter().enumerate() {
        let i = k + 1;
        st.basic(cert, setup)?;
        st.names_and_policies(i, n, cert)?;
        if i < n {
            st.prepare_next(cert)?;
        } else {
            policies = st.wrap_up(cert, setup)?;
        }
    }
    let notes = match setup.revocation {
        Some(mode) => revocation_steps(path, setup, mode, depth)?,
        None => Vec::new(),
    };
    Ok(Validated {
        path: owned(),
        policies,
        notes,
    })
}

/// The state variables of §6.1.2 other than the policy ones.
struct Walk<'c> {
    key: &'c [u8],
    max_path: usize,
    constraints: Vec<&'c Subtrees>,
    policy: PolicyState,
}

fn policies_of(c: &CertInfo) -> CertPolicies<'_> {
    CertPolicies {
        policies: c.policies.as_deref(),
        mappings: &c.policy_mappings,
        require_explicit: c.require_explicit_policy,
        inhibit_mapping: c.inhibit_policy_mapping,
        inhibit_any: c.inhibit_any_policy,
        self_issued: c.self_issued(),
    }
}

impl<'c> Walk<'c> {
    /// §6.1.3 (a): signature with the working key, validity.
    fn basic(&self, cert: &CertInfo, setup: &Setup<'_>) -> Result<(), Refusal> {
        if let Err(e) = crypto::verify_signed_structure(&cert.raw, self.key) {
            let sub = match e {
                CryptoError::Unsupported(_) => SubIndication::CryptoConstraintsFailure,
                _ => SubIndication::CertificateChainGeneralFailure,
            };
            return Err(refuse(
                sub,
                "6.1.3 (a)(1)",
                cert,
                format!("the signature by its issuer's key cannot be verified ({e})"),
            ));
        }
        if setup.check_validity {
            if setup.now < cert.not_before {
                return Err(refuse(
                    SubIndication::NotYetValid,
                    "6.1.3 (a)(2)",
                    cert,
                    format!("not valid before {}", crate::fmt_time(cert.not_before)),
                ));
            }
            if setup.now > cert.not_after {
                return Err(refuse(
                    SubIndication::OutOfBoundsNoPoe,
                    "6.1.3 (a)(2)",
                    cert,
                    format!("expired on {}", crate::fmt_time(cert.not_after)),
                ));
            }
        }
        Ok(())
    }

    /// §6.1.3 (b)–(f): name constraints of the CAs above, certificate policies.
    fn names_and_policies(&mut self, i: usize, n: usize, cert: &CertInfo) -> Result<(), Refusal> {
        if !(cert.self_issued() && i < n) {
            let names = cert.constrained_names();
            for nc in &self.constraints {
                if let Err(why) = name_constraints::check(&names, nc) {
                    return Err(refuse(
                        SubIndication::ChainConstraintsFailure,
                        "6.1.3 (b)-(c)",
                        cert,
                        format!("name constraints: {why}"),
                    ));
                }
            }
        }
        self.policy.process(i, &policies_of(cert)).map_err(|why| {
            refuse(
                SubIndication::ChainConstraintsFailure,
                "6.1.3 (d)-(f)",
                cert,
                format!("certificate policies: {why}"),
            )
        })
    }

    /// §6.1.4: a CA certificate prepares the next one.
    fn prepare_next(&mut self, cert: &'c CertInfo) -> Result<(), Refusal> {
        let fail =
            |step, why: String| refuse(SubIndication::ChainConstraintsFailure, step, cert, why);
        self.policy
            .prepare_next(&policies_of(cert))
            .map_err(|why| fail("6.1.4 (a)-(b)", format!("policy mappings: {why}")))?;
        self.key = &cert.spki;
        if let Some(nc) = &cert.name_constraints {
            self.constraints.push(nc);
        }
        if !cert.is_ca() {
            return Err(fail(
                "6.1.4 (k)",
                "issues certificates but is not a CA (basicConstraints cA missing or false)".into(),
            ));
        }
        if !cert.self_issued() {
            if self.max_path == 0 {
                return Err(fail(
                    "6.1.4 (l)",
                    "a pathLenConstraint above it is exceeded".into(),
                ));
            }
            self.max_path -= 1;
        }
        if let Some((_, Some(len))) = cert.basic_constraints {
            self.max_path = self.max_path.min(len as usize);
        }
        if let Some(ku) = cert.key_usage
            && !ku.key_cert_sign
        {
            return Err(fail("6.1.4 (n)", "keyUsage lacks keyCertSign".into()));
        }
        critical_extensions(cert, "6.1.4 (o)")
    }

    /// §6.1.5: the end entity.
    fn wrap_up(&mut self, cert: &CertInfo, setup: &Setup<'_>) -> Result<Vec<String>, Refusal> {
        critical_extensions(cert, "6.1.5 (f)")?;
        let fail = |why: String| refuse(SubIndication::ChainConstraintsFailure, "6.1.5", cert, why);
        if setup.leaf != LeafUse::Any
            && let Some(ku) = cert.key_usage
            && !(ku.digital_signature || ku.non_repudiation)
        {
            return Err(fail(
                "keyUsage allows neither digitalSignature nor nonRepudiation".into(),
            ));
        }
        if setup.leaf == LeafUse::TimeStamping && !cert.eku_time_stamping {
            return Err(fail(
                "not a time-stamping certificate (no id-kp-timeStamping)".into(),
            ));
        }
        self.policy
            .wrap_up(&policies_of(cert), setup.policy)
            .map_err(|why| {
                refuse(
                    SubIndication::ChainConstraintsFailure,
                    "6.1.5 (g)",
                    cert,
                    format!("certificate policies: {why}"),
                )
            })
    }
}

/// §6.1.4 (o) / §6.1.5 (f): every critical extension is understood and readable.
fn critical_extensions(cert: &CertInfo, step: &'static str) -> Result<(), Refusal> {
    let why = if !cert.unknown_critical.is_empty() {
        format!(
            "unsupported critical extensions {:?}",
            cert.unknown_critical
        )
    } else if let Some(m) = &cert.malformed {
        format!("unreadable critical extension {m}")
    } else {
        return Ok(());
    };
    Err(refuse(
        SubIndication::ChainConstraintsFailure,
        step,
        cert,
        why,
    ))
}

/// §6.1.3 (a)(3): each certificate but the anchor against the CRLs and OCSP responses.
fn revocation_steps(
    path: &[&CertInfo],
    setup: &Setup<'_>,
    mode: RevocationMode,
    depth: usize,
) -> Result<Vec<String>, Refusal> {
    let mut known: Vec<CertInfo> = setup.pool.to_vec();
    known.extend(setup.anchors.iter().cloned());
    let signer_ok = |signer: &CertInfo| -> Result<(), String> {
        // A CRL signer's own status may come from the CRL it signed (§6.3.3 allows the
        // loop; the signer's path is being validated one level up).
        if depth > 0 && path.first().is_some_and(|c| c.same_as(signer)) {
            return Ok(());
        }
        if depth + 1 >= MAX_NESTING {
            return Err("CRL signer paths nest too deep".into());
        }
        let nested = Setup {
            leaf: LeafUse::Any,
            ..*setup
        };
        validate_nested(signer, &nested, depth + 1)
            .map(|_| ())
            .map_err(|r| format!("RFC 5280 {}: {}", r.step, r.detail))
    };
    let ev = Evidence {
        crls: setup.crls,
        crl_signer: &signer_ok,
        ocsps: setup.ocsps,
        certs: &known,
        now: setup.now,
    };
    let mut notes = Vec::new();
    for pair in path.windows(2) {
        let (Some(cert), Some(issuer)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let out = revocation::check_all(cert, issuer, &ev);
        let why_unknown = |m: &str| format!("no usable revocation data ({m})");
        match out.status {
            RevocationStatus::Revoked { date, reason } if date <= setup.now => {
                return Err(refuse(
                    SubIndication::Revoked,
                    "6.1.3 (a)(3)",
                    cert,
                    format!(
                        "revoked on {}{} according to the {}",
                        crate::fmt_time(date),
                        reason.map(|r| format!(" ({r})")).unwrap_or_default(),
                        out.source
                    ),
                ));
            }
            RevocationStatus::Revoked { .. } => {
                notes.push(format!(
                    "{}: revoked after the validation time",
                    cert.subject
                ));
            }
            RevocationStatus::Good { next_update, .. }
                if next_update.is_some_and(|n| n < setup.now) =>
            {
                let m = format!("the {} is past its nextUpdate", out.source);
                if mode == RevocationMode::SoftFail {
                    notes.push(format!("{}: {m} (soft-fail)", cert.subject));
                } else {
                    return Err(refuse(SubIndication::TryLater, "6.1.3 (a)(3)", cert, m));
                }
            }
            RevocationStatus::Good { .. } => {
                notes.push(format!("{}: not revoked ({})", cert.subject, out.source));
            }
            RevocationStatus::Unknown(m) => {
                if mode == RevocationMode::Require {
                    return Err(refuse(
                        SubIndication::TryLater,
                        "6.1.3 (a)(3)",
                        cert,
                        why_unknown(&m),
                    ));
                }
                notes.push(format!("{}: not checked: {m}", cert.subject));
            }
        }
        for n in out.notes {
            if !notes.contains(&n) {
                notes.push(n);
            }
        }
    }
    Ok(notes)
}

fn describe(c: &CertInfo) -> PathCertificate {
    PathCertificate {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        serial: c.serial_hex(),
        sha256: hex::encode(crypto::DigestAlg::Sha256.digest(&c.raw)),
    }
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Validates the certificate `input.end_entity` at `input.time`: builds the candidate paths
/// through `input.intermediates` to one of `input.trust_anchors` and processes them as RFC
/// 5280 §6.1 says (signatures, validity, names, name constraints, basicConstraints and
/// pathLenConstraint, keyUsage, certificate policies with mappings and the initial settings
/// of `options`, unknown critical extensions), then checks revocation of every certificate
/// but the anchor with the CRLs (§6.3: scope, delta and indirect CRLs, the CRL signer's own
/// path) and OCSP responses, as `options.revocation` says. The same code validates the
/// certificates of PDF signatures. Never panics.
///
/// # Errors
/// [`PathFailure`]: the step that refused the best candidate path, the certificate at
/// fault and the EN 319 102-1 sub-indication.
pub fn validate_path(
    input: &PathInput<'_>,
    options: &PathOptions,
) -> Result<ValidPath, PathFailure> {
    let unreadable = |what: &str| PathFailure {
        sub_indication: SubIndication::FormatFailure,
        rfc5280_step: "6.1",
        certificate: None,
        detail: format!("the {what} is not a readable X.509 certificate"),
        path: Vec::new(),
    };
    let leaf =
        CertInfo::parse(input.end_entity).ok_or_else(|| unreadable("end-entity certificate"))?;
    let pool = certs::parse_all(input.intermediates.iter().map(Vec::as_slice));
    let anchors = certs::parse_all(input.trust_anchors.iter().map(Vec::as_slice));
    let (crls, _) = revocation::parse_crls(input.crls);
    let policy = PolicyInputs {
        user_initial_policy_set: options.initial_policies.clone(),
        initial_explicit_policy: options.require_explicit_policy,
        initial_policy_mapping_inhibit: options.inhibit_policy_mapping,
        initial_any_policy_inhibit: options.inhibit_any_policy,
    };
    let setup = Setup {
        pool: &pool,
        anchors: &anchors,
        policy: &policy,
        leaf: LeafUse::Any,
        check_validity: true,
        revocation: Some(options.revocation),
        crls: &crls,
        ocsps: input.ocsp_responses,
        now: unix(input.time),
    };
    let run = || validate(&leaf, &setup);
    let memo = crypto::SignatureMemo::default();
    let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        crypto::memo_scope(&memo, run)
    }))
    .unwrap_or_else(|_| {
        Err(Refusal {
            sub: SubIndication::CertificateChainGeneralFailure,
            step: "6.1",
            cert: None,
            detail: "internal error while validating".into(),
            path: Vec::new(),
        })
    });
    match res {
        Ok(v) => Ok(ValidPath {
            certificates: v.path.iter().map(describe).collect(),
            der: v.path.iter().map(|c| c.raw.clone()).collect(),
            valid_policies: v.policies,
            notes: v.notes,
        }),
        Err(r) => Err(PathFailure {
            sub_indication: r.sub,
            rfc5280_step: r.step,
            certificate: r.cert,
            detail: r.detail,
            path: r.path.iter().map(describe).collect(),
        }),
    }
}
