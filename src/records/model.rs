//! The stored shapes: records, book entries, request-index entries.

use serde::{Deserialize, Serialize};

/// Current `schema_version` of every JSON document written by this module.
pub const SCHEMA_VERSION: u32 = 1;

/// Reuse metadata of one issued certified copy (`records/{id}.json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Record {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// Copy id (a UUID), also in the QR code.
    pub id: String,
    /// Issuing agency's e-identifier, e.g. `H56.01`.
    pub agency_code: String,
    /// Issuing agency's name as printed.
    pub agency_name: String,
    /// Certification number (số chứng thực): from 1 each year, gapless.
    pub number: u64,
    /// Book number (quyển số), e.g. `01`.
    pub book: String,
    /// Year of the book.
    pub year: i32,
    /// Book kind code, e.g. `SCT/BS`.
    pub book_code: String,
    /// The printed reference, e.g. `12, quyển số 01/2026-SCT/BS`.
    pub reference: String,
    /// Owner's 12-digit personal identification number.
    pub owner_id: String,
    /// Kind of document (e.g. "Giấy khai sinh").
    pub document_type: String,
    /// Name or title of the document.
    pub document_name: String,
    /// Administrative procedure code (mã TTHC), e.g. `2.000815`.
    pub procedure_code: String,
    /// The caller's idempotency key.
    pub client_request_id: String,
    /// Issue time, RFC 3339 with `+07:00`.
    pub issued_at: String,
    /// End of validity (RFC 3339), `None` = no limit.
    pub valid_until: Option<String>,
    /// Valid or revoked.
    pub status: RecordStatus,
    /// Pages in the copy.
    pub page_count: u32,
    /// Lowercase hex SHA-256 of the signed copy.
    pub copy_sha256: String,
    /// Size of the signed copy in bytes.
    pub copy_size: u64,
    /// The uploaded originals, in upload order (stored as `original-{index}`).
    pub originals: Vec<OriginalFile>,
    /// Certificates that signed the copy.
    pub signers: Vec<SignerFingerprint>,
    /// A certified copy or a refusal notice; `copy` for records written before refusals.
    #[serde(default)]
    pub kind: RecordKind,
    /// Set on a refusal notice: the Art. 22 reason (see `crate::records::RefusalReason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<super::RefusalReason>,
    /// The fee charged (lệ phí chứng thực, VND); `None` for records written before fees
    /// and for refusals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_vnd: Option<u64>,
}

/// What a record stands for.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// An issued certified copy (the default, and every record written before refusals).
    #[default]
    Copy,
    /// A refusal notice (NĐ 23/2015 Art. 22): no certification number, nothing to reuse.
    Refusal,
}

/// The record as a caller without a certificate may see it: the copy's standing (agency,
/// number, dates, status, hash) without the owner, the names, the originals or the signers'
/// certificates (a personal certificate carries its holder's ID number).
pub fn without_personal_data(mut record: Record) -> Record {
    record.owner_id = String::new();
    record.document_name = String::new();
    record.client_request_id = String::new();
    record.originals = Vec::new();
    record.signers = Vec::new();
    record
}

/// Whether a copy still stands.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecordStatus {
    /// Issued and not revoked.
    Valid,
    /// Revoked (TT 01/2020 Art. 7 cancellation).
    Revoked {
        /// Why, e.g. the decision number.
        reason: String,
        /// Who revoked it.
        by: String,
        /// When, RFC 3339.
        at: String,
        /// Number of the decision cancelling the copy (TT 01/2020 Art. 7); empty in
        /// records revoked before it was asked for.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        decision_number: String,
        /// Date of that decision (`YYYY-MM-DD` or RFC 3339).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        decision_date: String,
        /// The official who decided (name and title).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        decided_by: String,
    },
}

/// One uploaded original file.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OriginalFile {
    /// File name as uploaded.
    pub name: String,
    /// Media type, e.g. `image/jpeg`.
    pub media_type: String,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// A signer certificate, identified.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct SignerFingerprint {
    /// Subject DN.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number (hex).
    pub serial: String,
    /// Lowercase hex SHA-256 of the certificate DER.
    pub sha256: String,
    /// Name printed for this signer (the agency's name, the certifier's full name); empty
    /// in records written before this field.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Title printed above the name (e.g. "Phó Chủ tịch UBND xã"); empty for the agency.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
}

/// A book opened within a year (NĐ 23/2015 Art. 13(2): the numbering continues from the
/// previous book). Created once; the first book of a year needs none.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BookOpening {
    /// Format version.
    pub schema_version: u32,
    /// The agency.
    pub agency_code: String,
    /// The year.
    pub year: i32,
    /// The book number (quyển số), e.g. "02".
    pub book: String,
    /// The first certification number entered in it.
    pub first_number: u64,
    /// When it was opened (RFC 3339).
    pub opened_at: String,
}

/// A year's book closed (NĐ 23/2015 Art. 13(3)): its total, and where the signed year
/// book is. Created once; no number can be taken in that year afterwards.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BookClosing {
    /// Format version.
    pub schema_version: u32,
    /// The agency.
    pub agency_code: String,
    /// The year.
    pub year: i32,
    /// Numbers entered in the year (issued and void).
    pub total: u64,
    /// Of which issued.
    pub issued: u64,
    /// Of which void.
    pub void: u64,
    /// Store key of the signed year book.
    pub printout: String,
    /// SHA-256 of that file.
    pub printout_sha256: String,
    /// When it was closed (RFC 3339).
    pub closed_at: String,
}

/// A number taken from a book by [`crate::records::Registry::reserve_number`]; it must end
/// as an issued copy (`commit`) or a void entry (`void`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// The agency whose book it is.
    pub agency_code: String,
    /// The certification number.
    pub number: u64,
    /// Book number (quyển số), e.g. `01`.
    pub book: String,
    /// The book's year.
    pub year: i32,
}

/// One line of the certification book (`books/{agency}/{year}/{number:08}.json`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct BookEntry {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The agency whose book it is.
    pub agency_code: String,
    /// The book's year.
    pub year: i32,
    /// Book number (quyển số).
    pub book: String,
    /// Certification number.
    pub number: u64,
    /// When the number was taken, RFC 3339 `+07:00`.
    pub reserved_at: String,
    /// Which registry instance took it (diagnostics, and to recognise its own claim).
    pub reserved_by: String,
    /// What became of the number.
    pub state: EntryState,
}

/// What became of a reserved number.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum EntryState {
    /// Taken; the copy is being produced (or its producer crashed: see `reserved_at`).
    Reserved,
    /// A copy was issued under this number.
    Issued {
        /// The copy's id.
        record_id: String,
        /// Issue time from the record.
        issued_at: String,
        /// Owner's personal identification number.
        owner_id: String,
        /// Kind of document.
        document_type: String,
        /// Name of the document.
        document_name: String,
        /// Procedure code.
        procedure_code: String,
        /// Pages in the copy.
        page_count: u32,
        /// SHA-256 of the copy.
        copy_sha256: String,
    },
    /// The number was entered as void: no copy was issued under it.
    Void {
        /// Why no copy was issued.
        reason: String,
        /// When it was voided, RFC 3339 `+07:00`.
        at: String,
    },
}

/// Index entry `requests/{agency}/{sha256(client_request_id)}.json`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct RequestEntry {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The agency the request was made to.
    pub agency_code: String,
    /// The caller's idempotency key, in clear.
    pub client_request_id: String,
    /// The copy issued for it.
    pub record_id: String,
}

impl RequestEntry {
    /// The entry tying `client_request_id` at `agency_code` to the copy `record_id`.
    pub fn new(agency_code: &str, client_request_id: &str, record_id: &str) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            agency_code: agency_code.to_string(),
            client_request_id: client_request_id.to_string(),
            record_id: record_id.to_string(),
        }
    }
}

/// Index entry `owners/{owner_id}/{issued}-{id}`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OwnerEntry {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The copy's id.
    pub record_id: String,
}

/// Index entry `hashes/{sha256}.json`: the copy whose signed bytes have this SHA-256.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HashEntry {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// The copy's id.
    pub record_id: String,
}
