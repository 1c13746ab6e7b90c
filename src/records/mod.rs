//! Reuse metadata, the certification book and idempotency, on top of an
//! [`ObjectStore`](crate::store::ObjectStore).
//!
//! # Key layout
//! ```text
//! copies/{id}/copy.pdf                     the signed copy
//! copies/{id}/original-{n}                 uploaded originals, n from 0 in upload order
//! records/{id}.json                        Record (reuse metadata)
//! books/{agency}/{year}/{number:08}.json   BookEntry: reserved → issued | void
//! requests/{agency}/{sha256hex(client_request_id)}.json   RequestEntry → record id
//! owners/{owner_id}/{issued}-{id}          OwnerEntry; issued = issued_at in UTC as
//!                                          YYYYMMDDTHHMMSSZ, so keys sort by issue time
//! hashes/{sha256hex(copy)}.json            HashEntry → record id (LookupByHash, Verify)
//! consents/{owner_id}/{id}.json            Consent (create-only), and {id}.withdrawn.json
//! pending/{agency}/{id}.*                  a copy awaiting its certifier's signature (see `pending`)
//! refusals/{agency}/{year}/{refused}-{id}.json   RefusalEntry (create-only): a refusal in the book
//! book-notes/{agency}/{year}/{number:08}.revocation.json   RevocationNote (create-only)
//! ```
//! All JSON documents carry `schema_version` (now 1); readers refuse other versions.
//!
//! # Write order
//! [`Registry::commit`] writes originals, the copy, the record, the owner and hash indexes,
//! marks the book entry issued, and last the request index. A crash at any point leaves no record or
//! index pointing at missing bytes, and a request id only resolves once everything else is
//! in place. A number is reserved before the copy is built (it is printed on it); if the
//! copy fails the number is entered as void, never skipped.

mod book;
pub mod check;
mod consent;
mod error;
mod export;
mod keys;
mod model;
mod pending;
mod refusals;
mod registry;
mod requests;
mod validate;

pub use consent::{Consent, ConsentRequest, Consents};
pub use error::RecordsError;
pub use export::{BOOK_CSV_HEADER, write_book_csv, write_book_csv_with};
pub use model::{
    BookClosing, BookEntry, BookOpening, EntryState, HashEntry, OriginalFile, OwnerEntry, Record,
    RecordKind, RecordStatus, RequestEntry, Reservation, SCHEMA_VERSION, SignerFingerprint,
    without_personal_data,
};
pub use pending::{Outcome, PendingCopies, PendingCopy};
pub use refusals::{
    BookAnnex, Decision, REFUSAL_REASONS, RefusalEntry, RefusalReason, RevocationNote,
    refusal_reason,
};
pub use registry::{RecordPage, Registry, is_current};
pub use requests::RequestGuard;
pub use validate::{
    normalize_sha256, validate_agency_code, validate_client_request_id, validate_owner_id,
    validate_procedure_code, validate_record_id, validate_year,
};
