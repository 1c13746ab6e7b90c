//! CRL processing (RFC 5280 §6.3): which CRLs speak for a certificate (issuer, distribution
//! points against the CRL's issuing distribution point, indirect CRLs and their entries'
//! certificateIssuer, onlySome* flags, reason codes), delta CRLs over their base, and the
//! CRL issuer's key (cRLSign, signature, and a path of its own when it is not the
//! certificate's issuer). A CRL that is out of scope or badly signed is never used: it is
//! named in a note and the verdict is as without it.

use x509_parser::prelude::{CertificateRevocationList, FromDer};
use x509_parser::x509::X509Name;

use crate::asn1;
use crate::crypto;
use crate::x509::certs::{CertInfo, strip_zeros};
use crate::x509::dist_points::{self, Idp};
use crate::x509::names::{self, DistPoint, GName, Name};

/// The reason bits of ReasonFlags (keyCompromise … aACompromise).
pub const ALL_REASONS: u16 = 0x1FE;
/// CRLReason removeFromCRL.
const REMOVE_FROM_CRL: u8 = 8;
/// Most CRLs judged for one certificate.
const MAX_CRLS: usize = 256;
/// Most candidate CRL signer certificates tried for one CRL.
const MAX_SIGNERS: usize = 8;

/// CRL extensions understood (a critical one outside this list makes the CRL unusable).
const KNOWN_CRL_EXTENSIONS: &[&str] = &[
    "2.5.29.18",
    "2.5.29.20",
    "2.5.29.27",
    "2.5.29.28",
    "2.5.29.35",
    "2.5.29.46",
];
/// CRL entry extensions understood.
const KNOWN_ENTRY_EXTENSIONS: &[&str] = &["2.5.29.21", "2.5.29.23", "2.5.29.24", "2.5.29.29"];

/// One revoked entry: serial, the certificate's issuer, date, reason code.
#[derive(Debug, Clone)]
struct Entry {
    serial: Vec<u8>,
    issuer: Name,
    date: i64,
    reason: Option<u8>,
}

/// A CRL as processing needs it.
#[derive(Debug, Clone)]
pub struct Crl {
    raw: Vec<u8>,
    issuer: Name,
    /// The issuer in words.
    pub issuer_text: String,
    /// thisUpdate.
    pub this_update: i64,
    /// nextUpdate.
    pub next_update: Option<i64>,
    number: Option<Vec<u8>>,
    /// deltaCRLIndicator BaseCRLNumber: this is a delta CRL.
    base_number: Option<Vec<u8>>,
    idp: Option<Idp>,
    entries: Vec<Entry>,
    /// Why the CRL cannot be used whatever the certificate (unknown critical extension).
    unusable: Option<String>,
}

/// An unsigned integer's magnitude, for comparisons.
fn magnitude(b: &[u8]) -> Vec<u8> {
    strip_zeros(b).to_vec()
}

fn num_le(a: &[u8], b: &[u8]) -> bool {
    (a.len(), a) <= (b.len(), b)
}

impl Crl {
    /// Parses a DER CRL (`None`: not one).
    pub fn parse(der: &[u8]) -> Option<Crl> {
        let (_, c) = CertificateRevocationList::from_der(der).ok()?;
        let issuer = Name::from_x509(c.issuer());
        let mut crl = Crl {
            raw: c.as_raw().to_vec(),
            issuer: issuer.clone(),
            issuer_text: c.issuer().to_string(),
            this_update: c.last_update().timestamp(),
            next_update: c.next_update().map(|t| t.timestamp()),
            number: c.crl_number().map(|n| magnitude(&n.to_bytes_be())),
            base_number: None,
            idp: None,
            entries: Vec::new(),
            unusable: None,
        };
        for ext in c.extensions() {
            let oid = ext.oid.to_id_string();
            if ext.critical && !KNOWN_CRL_EXTENSIONS.contains(&oid.as_str()) {
                crl.unusable = Some(format!("unknown critical CRL extension {oid}"));
            }
            match ext.parsed_extension() {
                _ if oid == "2.5.29.28" => match dist_points::parse_idp(ext.value, &issuer) {
                    Some(i) => crl.idp = Some(i),
                    None => crl.unusable = Some("unreadable issuingDistributionPoint".into()),
                },
                _ if oid == "2.5.29.27" => {
                    crl.base_number = asn1::parse(ext.value)
                        .ok()
                        .filter(|(t, _)| t.is(asn1::tag::INTEGER))
                        .map(|(t, _)| magnitude(t.value));
                    if crl.base_number.is_none() {
                        crl.unusable = Some("unreadable deltaCRLIndicator".into());
                    }
                }
                _ => {}
            }
        }
        crl.read_entries(&c);
        Some(crl)
    }

    fn read_entries(&mut self, c: &CertificateRevocationList<'_>) {
        let mut current = self.issuer.clone();
        for rc in c.iter_revoked_certificates() {
            for ext in rc.extensions() {
                let oid = ext.oid.to_id_string();
                if ext.critical && !KNOWN_ENTRY_EXTENSIONS.contains(&oid.as_str()) {
                    self.unusable = Some(format!("unknown critical CRL entry extension {oid}"));
                }
                if oid == "2.5.29.29" {
                    match entry_issuer(ext.value) {
                        Some(n) => current = n,
                        None => self.unusable = Some("unreadable certificateIssuer".into()),
                    }
                }
            }
            self.entries.push(Entry {
                serial: rc.raw_serial().to_vec(),
                issuer: current.clone(),
                date: rc.revocation_date.timestamp(),
                reason: rc.reason_code().map(|(_, r)| r.0),
            });
        }
    }

    fn is_delta(&self) -> bool {
        self.base_number.is_some()
    }

    fn entry(&self, cert: &CertInfo) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.serial == cert.serial_raw && e.issuer == cert.issuer_name)
    }
}

/// The directoryName of a certificateIssuer entry extension.
fn entry_issuer(value: &[u8]) -> Option<Name> {
    let (seq, _) = asn1::parse(value).ok()?;
    seq.children().ok()?.into_iter().find_map(|g| {
        if g.is_context(4) {
            let (_, n) = X509Name::from_der(g.value).ok()?;
            Some(Name::from_x509(&n))
        } else {
            None
        }
    })
}

/// The status the CRLs give a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrlVerdict {
    /// Listed on a CRL in scope (revocationDate, reason code in words).
    Revoked {
        /// revocationDate.
        date: i64,
        /// The reason, if given.
        reason: Option<String>,
    },
    /// Not listed on CRLs that together cover every reason.
    Good {
        /// thisUpdate of the newest CRL used.
        this_update: i64,
        /// The earliest nextUpdate of the CRLs used.
        next_update: Option<i64>,
    },
    /// No CRL speaks for the certificate for every reason.
    NoCrl,
}

/// What checks a CRL issuer that is not the certificate's issuer (a path of its own).
pub type SignerCheck<'a> = &'a dyn Fn(&CertInfo) -> Result<(), String>;

/// The inputs of CRL processing for one certificate.
pub struct CrlInputs<'a> {
    /// The CRLs at hand, parsed.
    pub crls: &'a [Crl],
    /// Certificates that may have signed CRLs (besides the certificate's issuer).
    pub certs: &'a [CertInfo],
    /// Validates a CRL signer other than the certificate's issuer.
    pub signer_ok: SignerCheck<'a>,
    /// The validation time.
    pub now: i64,
}

/// The reason code's name.
fn reason_name(r: u8) -> String {
    const NAMES: [&str; 11] = [
        "unspecified",
        "keyCompromise",
        "cACompromise",
        "affiliationChanged",
        "superseded",
        "cessationOfOperation",
        "certificateHold",
        "",
        "removeFromCRL",
        "privilegeWithdrawn",
        "aACompromise",
    ];
    NAMES
        .get(usize::from(r))
        .filter(|n| !n.is_empty())
        .map_or_else(|| format!("reason {r}"), |n| (*n).to_string())
}

/// Judges `cert`, issued by `issuer`, with the CRLs (§6.3.3); notes say which CRLs were
/// ignored and why.
pub fn status(
    cert: &CertInfo,
    issuer: &CertInfo,
    input: &CrlInputs<'_>,
    notes: &mut Vec<String>,
) -> CrlVerdict {
    let implicit = [DistPoint {
        names: None,
        reasons: None,
        crl_issuer: None,
    }];
    let dps: &[DistPoint] = cert.crl_dps.as_deref().unwrap_or(&implicit);
    let mut mask = 0u16;
    let mut good: Option<(i64, Option<i64>)> = None;
    for dp in dps.iter().take(16) {
        for crl in input.crls.iter().filter(|c| !c.is_delta()).take(MAX_CRLS) {
            if mask == ALL_REASONS {
                break;
            }
            let interim = match scope(crl, cert, dp) {
                Ok(m) => m,
                Err(Some(why)) => {
                    note(notes, format!("CRL of {} ignored: {why}", crl.issuer_text));
                    continue;
                }
                Err(None) => continue,
            };
            if interim & !mask == 0 {
                continue;
            }
            if let Err(why) = usable(crl, issuer, input) {
                note(notes, format!("CRL of {} ignored: {why}", crl.issuer_text));
                continue;
            }
            let delta = find_delta(crl, issuer, input, notes);
            if let Some(v) = listed(cert, crl, delta) {
                return v;
            }
            mask |= interim;
            let next = match delta {
                Some(d) => d.next_update,
                None => crl.next_update,
            };
            let this = delta.map_or(crl.this_update, |d| d.this_update);
            good = Some(match good {
                None => (this, next),
                Some((t, n)) => (t.max(this), min_opt(n, next)),
            });
        }
    }
    match good {
        Some((this_update, next_update)) if mask == ALL_REASONS => CrlVerdict::Good {
            this_update,
            next_update,
        },
        Some(_) => {
            note(
                notes,
                format!(
                    "the CRLs in scope for {} do not cover every revocation reason",
                    cert.subject
                ),
            );
            CrlVerdict::NoCrl
        }
        None => CrlVerdict::NoCrl,
    }
}

fn min_opt(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn note(notes: &mut Vec<String>, n: String) {
    if notes.len() < 16 && !notes.contains(&n) {
        notes.push(n);
    }
}

/// The entry for `cert` on the complete CRL and its delta: revoked, or `None` (not listed,
/// removed from the CRL, or released from hold by the delta).
fn listed(cert: &CertInfo, crl: &Crl, delta: Option<&Crl>) -> Option<CrlVerdict> {
    let revoked = |e: &Entry| CrlVerdict::Revoked {
        date: e.date,
        reason: e.reason.map(reason_name),
    };
    if let Some(e) = delta.and_then(|d| d.entry(cert)) {
        return (e.reason != Some(REMOVE_FROM_CRL)).then(|| revoked(e));
    }
    crl.entry(cert)
        .filter(|e| e.reason != Some(REMOVE_FROM_CRL))
        .map(revoked)
}

/// §6.3.3 (b)–(c): does `crl` speak for `cert` through the distribution point `dp`? The
/// reasons it covers, or why not (`None`: some other issuer's CRL, not worth a note).
fn scope(crl: &Crl, cert: &CertInfo, dp: &DistPoint) -> Result<u16, Option<String>> {
    let indirect = crl.idp.as_ref().is_some_and(|i| i.indirect);
    match &dp.crl_issuer {
        Some(ci) => {
            if !ci.contains(&GName::Dir(crl.issuer.clone())) {
                return Err(None);
            }
            if !indirect {
                return Err(Some(format!(
                    "it is not an indirect CRL, and {} names its CRL issuer",
                    cert.subject
                )));
            }
        }
        None if crl.issuer != cert.issuer_name => return Err(None),
        None => {}
    }
    let Some(idp) = &crl.idp else {
        return Ok(dp.reasons.unwrap_or(ALL_REASONS) & ALL_REASONS);
    };
    if let Some(idp_names) = &idp.names {
        let ours: Vec<GName> = match (&dp.names, &dp.crl_issuer) {
            (Some(n), _) => n.clone(),
            (None, Some(ci)) => ci.clone(),
            (None, None) => vec![GName::Dir(cert.issuer_name.clone())],
        };
        if !names::any_common(idp_names, &ours) {
            return Err(Some(format!(
                "its issuing distribution point is not one of {}",
                cert.subject
            )));
        }
    }
    if idp.only_user && cert.is_ca() {
        return Err(Some(format!(
            "it lists only end-entity certificates and {} is a CA",
            cert.subject
        )));
    }
    if idp.only_ca && !cert.is_ca() {
        return Err(Some(format!(
            "it lists only CA certificates and {} is not a CA",
            cert.subject
        )));
    }
    if idp.only_attr {
        return Err(Some("it lists only attribute certificates".into()));
    }
    Ok(dp.reasons.unwrap_or(ALL_REASONS) & idp.reasons.unwrap_or(ALL_REASONS) & ALL_REASONS)
}

/// The CRL can be used at all: no unknown critical extension, issued before the validation
/// time, signed by a key that may sign CRLs and belongs to the CRL's issuer.
fn usable(crl: &Crl, issuer: &CertInfo, input: &CrlInputs<'_>) -> Result<(), String> {
    if let Some(why) = &crl.unusable {
        return Err(why.clone());
    }
    if crl.this_update > input.now {
        return Err(format!(
            "its thisUpdate {} is after the validation time",
            crate::fmt_time(crl.this_update)
        ));
    }
    signed_by_issuer(crl, issuer, input)
}

/// §6.3.3 (f)–(g): a key of the CRL's issuer that may sign CRLs verifies its signature. The
/// certificate's own issuer is tried first; any other candidate needs a valid path.
fn signed_by_issuer(crl: &Crl, issuer: &CertInfo, input: &CrlInputs<'_>) -> Result<(), String> {
    let mut why = format!(
        "no certificate of {} verifies its signature",
        crl.issuer_text
    );
    let candidates = std::iter::once(issuer)
        .chain(input.certs.iter().filter(|c| !c.same_as(issuer)))
        .filter(|c| c.subject_name == crl.issuer)
        .take(MAX_SIGNERS);
    for c in candidates {
        if let Some(ku) = c.key_usage
            && !ku.crl_sign
        {
            why = format!("{} may not sign CRLs (no cRLSign)", c.subject);
            continue;
        }
        if let Err(e) = crypto::verify_signed_structure(&crl.raw, &c.spki) {
            why = format!("bad signature: {e}");
            continue;
        }
        if c.same_as(issuer) {
            return Ok(());
        }
        match (input.signer_ok)(c) {
            Ok(()) => return Ok(()),
            Err(e) => why = format!("its signer {} is not valid: {e}", c.subject),
        }
    }
    Err(why)
}

/// A delta CRL that applies to the complete CRL `base` (same issuer and scope, based on a
/// number the complete CRL reaches, usable), the newest.
fn find_delta<'c>(
    base: &Crl,
    issuer: &CertInfo,
    input: &'c CrlInputs<'_>,
    notes: &mut Vec<String>,
) -> Option<&'c Crl> {
    let base_num = base.number.as_deref()?;
    let mut best: Option<&Crl> = None;
    for d in input.crls.iter().filter(|c| c.is_delta()).take(MAX_CRLS) {
        if d.issuer != base.issuer || d.idp != base.idp {
            continue;
        }
        let Some(b) = d.base_number.as_deref() else {
            continue;
        };
        if !num_le(b, base_num) || d.number.as_deref().is_some_and(|n| num_le(n, base_num)) {
            continue;
        }
        if let Err(why) = usable(d, issuer, input) {
            note(
                notes,
                format!("delta CRL of {} ignored: {why}", d.issuer_text),
            );
            continue;
        }
        if best.is_none_or(|x| d.this_update > x.this_update) {
            best = Some(d);
        }
    }
    best
}
