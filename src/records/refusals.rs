//! Refusals (NĐ 23/2015/NĐ-CP Art. 22) and revocation notes beside the book.
//!
//! A refusal is stored like a copy (its record, `kind: refusal`, with the signed notice as
//! its PDF, the owner and hash indexes) so the citizen's list, GetCopy and Verify see it,
//! plus one create-only [`RefusalEntry`] under `refusals/{agency}/{year}/` for the book. It
//! takes no certification number. A revocation adds one create-only [`RevocationNote`]
//! under `book-notes/{agency}/{year}/{number:08}.revocation.json`, read with the book.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};

use super::Registry;
use super::model::{BookEntry, EntryState, OwnerEntry, Record, RecordKind, RecordStatus};
use super::model::{HashEntry, SCHEMA_VERSION};
use super::validate::{validate_agency_code, validate_record_id, validate_year};
use super::{RecordsError, keys};
use crate::hash::sha256_hex;

/// The six cases of NĐ 23/2015/NĐ-CP Art. 22 (bản chính không được dùng làm cơ sở để chứng
/// thực bản sao): stable code, clause, Vietnamese text. The wording follows the decree as
/// given in the project's domain notes (§1.3); check it against the published text before
/// relying on it verbatim.
pub const REFUSAL_REASONS: &[(&str, u8, &str)] = &[
    (
        "tampered",
        1,
        "Bản chính bị tẩy xóa, sửa chữa, thêm, bớt nội dung không hợp lệ.",
    ),
    (
        "damaged_unreadable",
        2,
        "Bản chính bị hư hỏng, cũ nát, không xác định được nội dung.",
    ),
    (
        "secret_or_no_copy",
        3,
        "Bản chính đóng dấu mật của cơ quan, tổ chức có thẩm quyền hoặc không đóng dấu mật nhưng ghi rõ không được sao chụp.",
    ),
    (
        "unlawful_content",
        4,
        "Bản chính có nội dung trái pháp luật, đạo đức xã hội; tuyên truyền, kích động chiến tranh, chống chế độ xã hội chủ nghĩa Việt Nam; xuyên tạc lịch sử của dân tộc Việt Nam; xúc phạm danh dự, nhân phẩm, uy tín của cá nhân, tổ chức; vi phạm quyền công dân.",
    ),
    (
        "not_legalised",
        5,
        "Bản chính do cơ quan, tổ chức có thẩm quyền của nước ngoài cấp, công chứng hoặc chứng nhận chưa được hợp pháp hóa lãnh sự theo quy định tại khoản 1 Điều 20 của Nghị định này.",
    ),
    (
        "unconfirmed_private_paper",
        6,
        "Giấy tờ, văn bản do cá nhân tự lập nhưng không có xác nhận và đóng dấu của cơ quan, tổ chức có thẩm quyền.",
    ),
];

/// The reason of a refusal as recorded.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RefusalReason {
    /// One of the codes of [`REFUSAL_REASONS`].
    pub code: String,
    /// The article's text for that case.
    pub text: String,
    /// "Khoản N Điều 22 Nghị định 23/2015/NĐ-CP".
    pub legal_basis: String,
    /// What the certifier or clerk wrote (may be empty).
    #[serde(default)]
    pub details: String,
    /// The certification number voided by this refusal (a pending copy refused), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided_number: Option<u64>,
}

/// The reason for `code` with `details`, or `None` for an unknown code.
pub fn refusal_reason(code: &str, details: &str) -> Option<RefusalReason> {
    let (code, clause, text) = REFUSAL_REASONS.iter().find(|(c, _, _)| *c == code.trim())?;
    Some(RefusalReason {
        code: (*code).to_string(),
        text: (*text).to_string(),
        legal_basis: format!("Khoản {clause} Điều 22 Nghị định 23/2015/NĐ-CP"),
        details: details.trim().to_string(),
        voided_number: None,
    })
}

/// A refusal as the book lists it (`refusals/{agency}/{year}/{refused}-{id}.json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RefusalEntry {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The refusal's record id (its notice is that record's PDF).
    pub record_id: String,
    /// The agency that refused.
    pub agency_code: String,
    /// The year of the book it belongs to.
    pub year: i32,
    /// When, RFC 3339 `+07:00`.
    pub refused_at: String,
    /// Owner's personal identification number.
    pub owner_id: String,
    /// Kind of document.
    pub document_type: String,
    /// Name of the document.
    pub document_name: String,
    /// Procedure code.
    pub procedure_code: String,
    /// Why.
    pub reason: RefusalReason,
    /// SHA-256 of the signed notice.
    pub notice_sha256: String,
}

impl RefusalEntry {
    /// The book's entry for the refusal `record` (a record of kind refusal).
    pub fn of(record: &Record) -> Result<Self, RecordsError> {
        let reason = match (&record.kind, &record.refusal) {
            (RecordKind::Refusal, Some(reason)) => reason.clone(),
            _ => {
                return Err(RecordsError::Mismatch(format!(
                    "record {} is not a refusal",
                    record.id
                )));
            }
        };
        Ok(Self {
            schema_version: SCHEMA_VERSION,
            record_id: record.id.clone(),
            agency_code: record.agency_code.clone(),
            year: record.year,
            refused_at: record.issued_at.clone(),
            owner_id: record.owner_id.clone(),
            document_type: record.document_type.clone(),
            document_name: record.document_name.clone(),
            procedure_code: record.procedure_code.clone(),
            reason,
            notice_sha256: record.copy_sha256.clone(),
        })
    }
}

/// The decision cancelling a copy (TT 01/2020 Art. 7), as given to a revocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decision {
    /// The decision's number.
    pub number: String,
    /// Its date (`YYYY-MM-DD` or RFC 3339).
    pub date: String,
    /// The deciding official.
    pub official: String,
}

/// A revocation noted beside the book entry of the copy's number.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RevocationNote {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The revoked copy.
    pub record_id: String,
    /// Its certification number.
    pub number: u64,
    /// The decision's number.
    #[serde(default)]
    pub decision_number: String,
    /// The decision's date.
    #[serde(default)]
    pub decision_date: String,
    /// The deciding official.
    #[serde(default)]
    pub decided_by: String,
    /// The reason given.
    pub reason: String,
    /// When it was revoked (RFC 3339).
    pub at: String,
}

impl RevocationNote {
    /// One line for the book: `QĐ số … ngày … (…): reason`.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if !self.decision_number.is_empty() {
            s.push_str(&format!("Quyết định số {}", self.decision_number));
        }
        if !self.decision_date.is_empty() {
            s.push_str(&format!(" ngày {}", self.decision_date));
        }
        if !self.decided_by.is_empty() {
            s.push_str(&format!(" ({})", self.decided_by));
        }
        if !s.is_empty() {
            s.push_str(": ");
        }
        s.push_str(&self.reason);
        s.push_str(&format!(" [thu hồi {}]", self.at));
        s.trim().to_string()
    }
}

fn refusal_prefix(agency: &str, year: i32) -> String {
    format!("refusals/{agency}/{year}/")
}

fn refusal_key(record: &Record) -> Result<String, RecordsError> {
    let at = OffsetDateTime::parse(&record.issued_at, &Rfc3339).map_err(|e| {
        RecordsError::Mismatch(format!(
            "issued_at {:?} is not RFC 3339: {e}",
            record.issued_at
        ))
    })?;
    let compact = at
        .to_offset(offset!(UTC))
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| RecordsError::Mismatch(e.to_string()))?;
    Ok(format!(
        "{}{compact}-{}.json",
        refusal_prefix(&record.agency_code, record.year),
        record.id
    ))
}

fn note_key(agency: &str, year: i32, number: u64) -> String {
    format!("book-notes/{agency}/{year}/{number:08}.revocation.json")
}

/// What the book export adds to the book entries: fees, revocation notes, refusals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BookAnnex {
    /// Fee (VND) of the copy issued under a number, by number.
    pub fees: std::collections::BTreeMap<u64, u64>,
    /// Revocation notes, by number.
    pub revocations: std::collections::BTreeMap<u64, RevocationNote>,
    /// The year's refusals in time order.
    pub refusals: Vec<RefusalEntry>,
}

impl Registry {
    /// Stores a refusal: the signed notice (as the record's PDF), the record (create-only;
    /// the same record again is a no-op), the owner and hash indexes, and last the book's
    /// refusal entry (create-only). Takes no number. Safe to retry.
    pub async fn commit_refusal(&self, record: &Record, notice: Bytes) -> Result<(), RecordsError> {
        validate_record_id(&record.id)?;
        validate_agency_code(&record.agency_code)?;
        if record.schema_version != SCHEMA_VERSION || record.status != RecordStatus::Valid {
            return Err(RecordsError::Mismatch(
                "a new refusal record must be of this schema version and valid".into(),
            ));
        }
        if record.copy_sha256 != sha256_hex(&notice) || record.copy_size != notice.len() as u64 {
            return Err(RecordsError::Mismatch(
                "copy_sha256/copy_size do not match the notice bytes".into(),
            ));
        }
        let entry = RefusalEntry::of(record)?;
        let store = self.store();
        let record_key = keys::record(&record.id);
        if let Some(stored) = self.get(&record.id).await?
            && stored != *record
        {
            return Err(RecordsError::IdTaken(record.id.clone()));
        }
        store.put(&keys::copy(&record.id), notice).await?;
        if !store
            .put_if_absent(&record_key, keys::encode(&record_key, record)?)
            .await?
            && self.get(&record.id).await?.as_ref() != Some(record)
        {
            return Err(RecordsError::IdTaken(record.id.clone()));
        }
        let owner_key = keys::owner_entry(&record.owner_id, &record.issued_at, &record.id)?;
        let owner = OwnerEntry {
            schema_version: SCHEMA_VERSION,
            record_id: record.id.clone(),
        };
        store
            .put(&owner_key, keys::encode(&owner_key, &owner)?)
            .await?;
        let hash_key = keys::hash(&record.copy_sha256);
        let hash = HashEntry {
            schema_version: SCHEMA_VERSION,
            record_id: record.id.clone(),
        };
        store
            .put(&hash_key, keys::encode(&hash_key, &hash)?)
            .await?;
        let key = refusal_key(record)?;
        store
            .put_if_absent(&key, keys::encode(&key, &entry)?)
            .await?;
        Ok(())
    }

    /// The refusals of the agency's book for `year`, in time order.
    pub async fn refusals(
        &self,
        agency_code: &str,
        year: i32,
    ) -> Result<Vec<RefusalEntry>, RecordsError> {
        validate_agency_code(agency_code)?;
        validate_year(year)?;
        let store = self.store();
        let mut listed = store.list(&refusal_prefix(agency_code, year)).await?;
        listed.sort();
        let mut out = Vec::with_capacity(listed.len());
        for key in listed {
            if let Some(bytes) = store.get(&key).await? {
                out.push(keys::decode::<RefusalEntry>(&key, &bytes)?);
            }
        }
        Ok(out)
    }

    /// Notes the revocation of `record` beside its book entry (create-only: the first
    /// note stands).
    pub(super) async fn note_revocation(&self, record: &Record) -> Result<(), RecordsError> {
        let RecordStatus::Revoked {
            reason,
            at,
            decision_number,
            decision_date,
            decided_by,
            ..
        } = &record.status
        else {
            return Ok(());
        };
        if record.kind != RecordKind::Copy || record.number == 0 {
            return Ok(());
        }
        let note = RevocationNote {
            schema_version: SCHEMA_VERSION,
            record_id: record.id.clone(),
            number: record.number,
            decision_number: decision_number.clone(),
            decision_date: decision_date.clone(),
            decided_by: decided_by.clone(),
            reason: reason.clone(),
            at: at.clone(),
        };
        let key = note_key(&record.agency_code, record.year, record.number);
        self.store()
            .put_if_absent(&key, keys::encode(&key, &note)?)
            .await?;
        Ok(())
    }

    /// The revocation noted for `number` of the agency's book for `year`, if any.
    pub async fn revocation_note(
        &self,
        agency_code: &str,
        year: i32,
        number: u64,
    ) -> Result<Option<RevocationNote>, RecordsError> {
        validate_agency_code(agency_code)?;
        let key = note_key(agency_code, year, number);
        match self.store().get(&key).await? {
            Some(bytes) => Ok(Some(keys::decode(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// What the book export shows beside `entries` (the book of `agency_code` for `year`):
    /// the fee of each issued copy (from its record), revocation notes, and the refusals.
    pub async fn book_annex(
        &self,
        agency_code: &str,
        year: i32,
        entries: &[BookEntry],
    ) -> Result<BookAnnex, RecordsError> {
        let mut annex = BookAnnex::default();
        for entry in entries {
            if let EntryState::Issued { record_id, .. } = &entry.state {
                if let Some(fee) = self.get(record_id).await?.and_then(|r| r.fee_vnd) {
                    annex.fees.insert(entry.number, fee);
                }
                if let Some(note) = self
                    .revocation_note(agency_code, year, entry.number)
                    .await?
                {
                    annex.revocations.insert(entry.number, note);
                }
            }
        }
        annex.refusals = self.refusals(agency_code, year).await?;
        Ok(annex)
    }
}
