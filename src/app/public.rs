//! The public face of a copy, for anyone holding it (the page its QR code leads to): the
//! copy's standing — agency, number and book, date, status, the SHA-256 of the issued file,
//! the signers' printed names and titles, the time-stamps — and the verification of any
//! uploaded PDF, with the standing when the file is a copy issued here.
//!
//! Nothing personal leaves through here: no owner ID, no document content, no signer's
//! personal ID number (a personal certificate carries one in its subject, as `UID` or
//! `serialNumber`: [`redact_personal_ids`] blanks those in every text of a report). An
//! unknown id and one the rules withhold get the same answer.

use super::*;
use crate::error_kind::ErrorKind;
use crate::records::is_current;
use crate::verify::SignatureReport;

/// Where a copy stands now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StandingStatus {
    /// Issued, not revoked, not expired.
    Valid,
    /// Revoked by its agency (TT 01/2020 Art. 7 cancellation).
    Revoked,
    /// Past its `valid_until`.
    Expired,
}

impl StandingStatus {
    /// `valid`, `revoked` or `expired` (the JSON value).
    pub fn as_str(self) -> &'static str {
        match self {
            StandingStatus::Valid => "valid",
            StandingStatus::Revoked => "revoked",
            StandingStatus::Expired => "expired",
        }
    }
}

/// A revocation as the public sees it: the decision and when (not who at the agency).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// The decision that revoked the copy (its number, date, reason), as the agency wrote it.
    pub decision: String,
    /// When, RFC 3339.
    pub at: String,
    /// The decision's number (TT 01/2020 Art. 7); empty for revocations recorded before.
    pub decision_number: String,
    /// The decision's date.
    pub decision_date: String,
    /// The official who decided.
    pub decided_by: String,
}

/// One issued version of the copy's file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyVersion {
    /// Lowercase hex SHA-256 of the file.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When this version was issued, RFC 3339.
    pub issued_at: String,
}

/// One signature (or document time-stamp) of a file, told without personal data.
#[derive(Clone, Debug, PartialEq)]
pub struct PublicSignature {
    /// The signature field.
    pub field: String,
    /// Who signed: the printed name kept in the record, else the certificate's common name
    /// (a time-stamping authority's for a document time-stamp); empty when unknown.
    pub name: String,
    /// The printed title (e.g. "Phó Chủ tịch UBND xã"); empty when none.
    pub title: String,
    /// The time the signer claimed (RFC 3339), when there is one.
    pub claimed_time: Option<String>,
    /// The signature time-stamp's time (RFC 3339), when there is one.
    pub timestamp: Option<String>,
    /// PAdES level reached ("B-B" … "B-LTA").
    pub level: Option<String>,
    /// ETSI indication of this signature.
    pub status: Indication,
    /// ETSI sub-indication, when not passed.
    pub sub_indication: Option<SubIndication>,
    /// Content changed after this signature.
    pub modified_after_signing: bool,
    /// This entry is a document time-stamp, not a signature.
    pub document_timestamp: bool,
}

/// A copy's standing: what the page the QR code leads to shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    /// The copy's id.
    pub id: String,
    /// `copy`, or `refusal` for a refusal notice (no number, nothing to rely on).
    pub kind: String,
    /// The page of this copy (`{public_base_url}/c/{id}`), as its QR code carries it.
    pub url: String,
    /// Issuing agency's e-identifier.
    pub agency_code: String,
    /// Issuing agency's name.
    pub agency_name: String,
    /// Certification number.
    pub number: u64,
    /// Book number (quyển số).
    pub book: String,
    /// Year of the book.
    pub year: i32,
    /// Book code, e.g. `SCT/BS`.
    pub book_code: String,
    /// The printed reference, e.g. `12, quyển số 01/2026-SCT/BS`.
    pub reference: String,
    /// Issue time, RFC 3339.
    pub issued_at: String,
    /// End of validity, when there is one.
    pub valid_until: Option<String>,
    /// Valid, revoked or expired, now.
    pub status: StandingStatus,
    /// The revocation, when revoked.
    pub revocation: Option<Revocation>,
    /// Every issued version of the file (today: the one issued).
    pub versions: Vec<CopyVersion>,
    /// The signatures and document time-stamps of the issued file, in file order.
    pub signatures: Vec<PublicSignature>,
}

impl Standing {
    /// Whether `sha256` is the hash of one of the issued versions.
    pub fn has_version(&self, sha256: &str) -> bool {
        self.versions.iter().any(|v| v.sha256 == sha256)
    }
}

/// An uploaded file's verification for the public.
#[derive(Clone, Debug)]
pub struct PublicVerification {
    /// The report (as `saoy verify` gives it), personal ID numbers blanked.
    pub report: Report,
    /// The file's signatures told for a person (names from the record when it is a copy
    /// issued here).
    pub signatures: Vec<PublicSignature>,
    /// The standing of the copy this file is (any version), when it is one issued here.
    pub copy: Option<Standing>,
    /// Lowercase hex SHA-256 of the uploaded file.
    pub sha256: String,
}

/// The one answer for a copy the public may not see, whether it does not exist or is
/// withheld: the same text and kind, so that nothing leaks.
fn no_public_copy() -> Error {
    Error::NotFound("no certified copy with this id can be shown".into())
}

impl App {
    /// The page of copy `id`, which its QR code encodes: `{http.public_base_url}/c/{id}`.
    pub fn public_copy_url(&self, copy_id: &str) -> String {
        format!("{}/c/{copy_id}", self.config.http.public_base_url())
    }

    /// The public standing of copy `id` (see [`Standing`]); the stored file is re-verified
    /// for its signatures and time-stamps. Unknown and withheld ids get the same NOT_FOUND.
    pub async fn public_standing(self: &Arc<Self>, caller: &Caller, id: &str) -> Result<Standing> {
        let record = match self.admitted_copy(caller, Action::PublicStanding, id).await {
            Ok((record, _)) => record,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => return Err(no_public_copy()),
            Err(e) => return Err(e),
        };
        let copy = self.get_copy(record).await?;
        self.audit_ok(caller, Action::PublicStanding, Some(&copy.record), None)
            .await?;
        Ok(self.standing_of(&copy.record, &copy.report))
    }

    /// Verifies an uploaded PDF for anyone, like `saoy verify` against the trust in force
    /// (a revoked copy is FAILED / REVOKED), and gives the standing of the copy it is when
    /// it is one issued here. Personal ID numbers are blanked in the report.
    pub async fn verify_public(
        self: &Arc<Self>,
        caller: &Caller,
        pdf: Vec<u8>,
    ) -> Result<PublicVerification> {
        let sha256 = sha256_hex(&pdf);
        let report = self.verify_upload(caller, pdf).await?;
        let record = match self.authorize(caller, Action::PublicStanding) {
            Ok(_) => self.registry.find_by_hash(&sha256).await?,
            Err(_) => None,
        };
        if let Some(record) = &record {
            self.audit_ok(caller, Action::PublicStanding, Some(record), None)
                .await?;
        }
        let copy = record.as_ref().map(|r| self.standing_of(r, &report));
        let signatures = public_signatures(&report, record.as_ref());
        Ok(PublicVerification {
            report: redacted_report(report),
            signatures,
            copy,
            sha256,
        })
    }

    /// The standing of `record`, its signatures read from `report` (of its issued file).
    fn standing_of(&self, record: &Record, report: &Report) -> Standing {
        let now = self.clock.now();
        let (status, revocation) = match &record.status {
            RecordStatus::Revoked {
                reason,
                at,
                decision_number,
                decision_date,
                decided_by,
                ..
            } => (
                StandingStatus::Revoked,
                Some(Revocation {
                    decision: redact_personal_ids(reason),
                    at: at.clone(),
                    decision_number: redact_personal_ids(decision_number),
                    decision_date: decision_date.clone(),
                    decided_by: redact_personal_ids(decided_by),
                }),
            ),
            RecordStatus::Valid if is_current(record, now) => (StandingStatus::Valid, None),
            RecordStatus::Valid => (StandingStatus::Expired, None),
        };
        Standing {
            id: record.id.clone(),
            kind: match record.kind {
                records::RecordKind::Copy => "copy".into(),
                records::RecordKind::Refusal => "refusal".into(),
            },
            url: self.public_copy_url(&record.id),
            agency_code: record.agency_code.clone(),
            agency_name: record.agency_name.clone(),
            number: record.number,
            book: record.book.clone(),
            year: record.year,
            book_code: record.book_code.clone(),
            reference: record.reference.clone(),
            issued_at: record.issued_at.clone(),
            valid_until: record.valid_until.clone(),
            status,
            revocation,
            versions: vec![CopyVersion {
                sha256: record.copy_sha256.clone(),
                size: record.copy_size,
                issued_at: record.issued_at.clone(),
            }],
            signatures: public_signatures(report, Some(record)),
        }
    }
}

/// The report's signatures told for a person: names and titles from `record`'s signers
/// (matched by certificate subject), else the certificate's common name.
fn public_signatures(report: &Report, record: Option<&Record>) -> Vec<PublicSignature> {
    report
        .signatures
        .iter()
        .map(|s| public_signature(s, record))
        .collect()
}

fn public_signature(s: &SignatureReport, record: Option<&Record>) -> PublicSignature {
    let subject = s.signer.as_ref().map(|c| c.subject.as_str()).unwrap_or("");
    let kept = record.and_then(|r| {
        r.signers
            .iter()
            .find(|f| !subject.is_empty() && f.subject == subject)
    });
    let common_name = redact_personal_ids(&dn_attribute(subject, "CN").unwrap_or_default());
    let (name, title) = match kept {
        Some(f) if !f.name.trim().is_empty() => (f.name.clone(), f.title.clone()),
        Some(f) => (common_name, f.title.clone()),
        None => (common_name, String::new()),
    };
    PublicSignature {
        field: s.field.clone(),
        name,
        title,
        claimed_time: s.signing_time.clone(),
        timestamp: s.timestamp.clone(),
        level: s.level.clone(),
        status: s.status,
        sub_indication: s.sub_indication,
        modified_after_signing: s.modified_after_signing,
        document_timestamp: s.material.document_timestamp,
    }
}

/// The value of attribute `key` in a distinguished name as the verifier writes it
/// (`C=VN, O=…, CN=…`; RDNs joined by `, `, multi-valued ones by ` + `).
fn dn_attribute(dn: &str, key: &str) -> Option<String> {
    let mut found = None;
    for part in split_dn(dn) {
        if let Some((k, v)) = part.split_once('=')
            && k.trim().eq_ignore_ascii_case(key)
        {
            found = Some(v.trim().to_string());
        }
    }
    found
}

/// The `KEY=value` parts of a distinguished name: a `, ` or ` + ` only separates when a
/// `KEY=` follows, so commas inside values stay.
fn split_dn(dn: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        // Byte comparisons: `i` may fall inside a multi-byte character; a separator is ASCII.
        let sep = if bytes[i..].starts_with(b", ") {
            2
        } else if bytes[i..].starts_with(b" + ") {
            3
        } else {
            0
        };
        if sep > 0 && starts_with_key(&dn[i + sep..]) {
            parts.push(&dn[start..i]);
            start = i + sep;
            i += sep;
            continue;
        }
        i += 1;
    }
    parts.push(&dn[start..]);
    parts
}

fn starts_with_key(text: &str) -> bool {
    let key_len = text
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'.' || *b == b'-')
        .count();
    key_len > 0 && text[key_len..].starts_with('=')
}

/// Attribute types that carry a person's ID number in certificates: UID (CCCD:… in
/// Vietnamese personal certificates), serialNumber, their OIDs, uniqueIdentifier.
const PERSONAL_ID_KEYS: &[&str] = &[
    "UID",
    "serialNumber",
    "uniqueIdentifier",
    "x500UniqueIdentifier",
    "0.9.2342.19200300.100.1.1",
    "2.5.4.5",
    "2.5.4.45",
];

/// What replaces a personal ID number.
const REDACTED: &str = "[redacted]";

/// `text` with the value of every personal-ID attribute (`UID=…`, `serialNumber=…`, …)
/// replaced by `[redacted]`; the rest unchanged.
pub fn redact_personal_ids(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut at_boundary = true;
    while !rest.is_empty() {
        if at_boundary
            && let Some(key) = PERSONAL_ID_KEYS.iter().find(|k| {
                rest.len() > k.len()
                    && rest.is_char_boundary(k.len())
                    && rest[..k.len()].eq_ignore_ascii_case(k)
                    && rest[k.len()..].starts_with('=')
            })
        {
            out.push_str(&rest[..key.len() + 1]);
            out.push_str(REDACTED);
            let value = &rest[key.len() + 1..];
            let end = value
                .find(|c: char| {
                    c.is_whitespace() || matches!(c, ',' | '+' | ';' | ')' | '"' | '\'' | '<')
                })
                .unwrap_or(value.len());
            rest = &value[end..];
            at_boundary = false;
            continue;
        }
        let c = rest.chars().next().unwrap_or(' ');
        out.push(c);
        rest = &rest[c.len_utf8()..];
        at_boundary = !(c.is_alphanumeric() || c == '.' || c == '_' || c == '-');
    }
    out
}

/// The report with [`redact_personal_ids`] applied to every text in it (through its JSON,
/// which is what leaves; the raw material kept beside it is dropped).
fn redacted_report(report: Report) -> Report {
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::String(s) => *s = redact_personal_ids(s),
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::Object(map) => map.values_mut().for_each(walk),
            _ => {}
        }
    }
    let validation_time = report.validation_time.clone();
    let mut value = match serde_json::to_value(&report) {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "a report did not serialise; sent without its details");
            return Report {
                signatures: Vec::new(),
                messages: vec!["the report's details could not be shown".into()],
                ..report
            };
        }
    };
    walk(&mut value);
    match serde_json::from_value::<Report>(value) {
        Ok(mut r) => {
            r.validation_time = validation_time;
            r
        }
        Err(e) => {
            tracing::error!(error = %e, "a redacted report did not read back; sent without its details");
            Report {
                signatures: Vec::new(),
                messages: vec!["the report's details could not be shown".into()],
                ..report
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DN: &str = "C=VN, L=Tây Ninh, O=UBND xã Tân Lập, CN=Nguyễn Thị Hồng Nhung (TEST), UID=CCCD:072190000001";

    #[test]
    fn personal_ids_are_blanked_and_the_rest_kept() {
        let r = redact_personal_ids(DN);
        assert!(!r.contains("072190000001"), "{r}");
        assert!(r.contains("CN=Nguyễn Thị Hồng Nhung (TEST)"), "{r}");
        assert!(r.ends_with("UID=[redacted]"), "{r}");
        let s = redact_personal_ids("signer serialNumber=CMND123456789, O=x; uid=42 done");
        assert_eq!(
            s,
            "signer serialNumber=[redacted], O=x; uid=[redacted] done"
        );
        // Not a key when part of a longer word; hashes untouched.
        let h = "QUID=1 sha256 0123456789012345";
        assert_eq!(redact_personal_ids(h), h);
    }

    #[test]
    fn common_name_is_read_from_the_dn() {
        assert_eq!(
            dn_attribute(DN, "CN").as_deref(),
            Some("Nguyễn Thị Hồng Nhung (TEST)")
        );
        assert_eq!(dn_attribute("CN=A, B + C=D", "cn").as_deref(), Some("A, B"));
        assert_eq!(dn_attribute("O=x", "CN"), None);
    }
}
