//! [`Registry`]: issues, finds and lists certified copies in an object store.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};

use super::book::Books;
use super::model::{
    BookEntry, HashEntry, OwnerEntry, Record, RecordStatus, RequestEntry, Reservation,
    SCHEMA_VERSION,
};
use super::requests::{RequestGuard, RequestLocks};
use super::validate::{
    normalize_sha256, validate_agency_code, validate_client_request_id, validate_owner_id,
    validate_page_token, validate_record_id,
};
use super::{RecordsError, keys};
use crate::clock::Clock;
use crate::hash::sha256_hex;
use crate::store::ObjectStore;

/// Records read in parallel when listing an owner's copies.
const READ_PARALLELISM: usize = 16;

/// One page of an owner's records.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordPage {
    /// Records in issue order.
    pub records: Vec<Record>,
    /// Token for the next page; `None` on the last page.
    pub next_page_token: Option<String>,
}

/// True when `record` is valid (not revoked) and not expired at `now`.
pub fn is_current(record: &Record, now: time::OffsetDateTime) -> bool {
    // A refusal notice is nothing to rely on or reuse.
    if record.status != RecordStatus::Valid || record.kind != super::RecordKind::Copy {
        return false;
    }
    match &record.valid_until {
        None => true,
        Some(until) => {
            time::OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
                // An unreadable end date is treated as expired: never vouch for it.
                .is_ok_and(|until| until > now)
        }
    }
}

/// Records, books and indexes of one store. Cheap to share behind an `Arc`; several
/// registries (processes) may share one store.
pub struct Registry {
    store: Arc<dyn ObjectStore>,
    books: Books,
    requests: RequestLocks,
    pending: super::PendingCopies,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry")
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// The store (for the other files of this module).
    pub(super) fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// A registry over `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self::with_clock(store, crate::clock::system())
    }

    /// A registry on `store` that dates book entries by `clock`.
    pub fn with_clock(store: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            books: Books::new(Arc::clone(&store), clock),
            pending: super::PendingCopies::new(Arc::clone(&store)),
            store,
            requests: RequestLocks::default(),
        }
    }

    /// Opens the next book of `agency` in `year` (numbering continues).
    pub async fn open_next_book(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<super::BookOpening, RecordsError> {
        self.books.open_next(agency, year).await
    }

    /// The books opened in `year` after its first.
    pub async fn book_openings(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<Vec<super::BookOpening>, RecordsError> {
        validate_agency_code(agency)?;
        self.books.openings(agency, year).await
    }

    /// The closing of `year`'s book, if closed.
    pub async fn book_closing(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<Option<super::BookClosing>, RecordsError> {
        validate_agency_code(agency)?;
        self.books.closing(agency, year).await
    }

    /// Closes a year's book (create-only); returns the closing in force and whether this
    /// call made it.
    pub async fn close_book(
        &self,
        closing: &super::BookClosing,
    ) -> Result<(super::BookClosing, bool), RecordsError> {
        validate_agency_code(&closing.agency_code)?;
        self.books.close(closing).await
    }

    /// Keeps a signed printout of a book (`name`: `YYYY-MM` for a month, `YYYY` for the
    /// year) beside its entries; a month printed again replaces its printout, the year's is
    /// written once. Returns its key.
    pub async fn put_book_printout(
        &self,
        agency: &str,
        year: i32,
        name: &str,
        pdf: Bytes,
        once: bool,
    ) -> Result<String, RecordsError> {
        validate_agency_code(agency)?;
        let key = keys::book_printout(agency, year, name);
        if once {
            self.store.put_if_absent(&key, pdf).await?;
        } else {
            self.store.put(&key, pdf).await?;
        }
        Ok(key)
    }

    /// The copies awaiting their certifier's signature.
    pub fn pending(&self) -> &super::PendingCopies {
        &self.pending
    }

    /// The store, as its backend describes it (for logs).
    pub fn describe_store(&self) -> String {
        self.store.describe()
    }

    /// Serialises work on one client request id (in-process lock) and returns the existing
    /// record if this id was already issued. The lock is held until the guard is dropped.
    pub async fn begin_request(
        &self,
        agency_code: &str,
        client_request_id: &str,
    ) -> Result<RequestGuard, RecordsError> {
        validate_agency_code(agency_code)?;
        validate_client_request_id(client_request_id)?;
        let lock = self
            .requests
            .acquire(format!("{agency_code}\n{client_request_id}"))
            .await;
        let existing = self.issued_for(agency_code, client_request_id).await?;
        Ok(RequestGuard::new(existing, lock))
    }

    /// The copy id a request id is tied to (claimed or issued), if any.
    async fn request_owner(
        &self,
        agency_code: &str,
        client_request_id: &str,
    ) -> Result<Option<String>, RecordsError> {
        let key = keys::request(agency_code, client_request_id);
        let Some(bytes) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let entry: RequestEntry = keys::decode(&key, &bytes)?;
        if entry.client_request_id != client_request_id || entry.agency_code != agency_code {
            return Err(RecordsError::Corrupt {
                key,
                reason: "the entry is for another request id".into(),
            });
        }
        Ok(Some(entry.record_id))
    }

    /// The record issued for a request id, if any.
    async fn issued_for(
        &self,
        agency_code: &str,
        client_request_id: &str,
    ) -> Result<Option<Record>, RecordsError> {
        match self.request_owner(agency_code, client_request_id).await? {
            // A claim whose record is not stored yet: the first attempt failed (or is running).
            Some(id) => self.get(&id).await,
            None => Ok(None),
        }
    }

    /// Claims `client_request_id` for the copy id `record_id` before a number is taken: a
    /// create-only write of the request entry. A retry, in this process or on another
    /// replica, even after the first attempt died half-way, finds the same copy id, so one
    /// request never yields two copies. Returns the id that owns the request: `record_id`,
    /// or the id of an earlier claim whose record is not stored (reuse it).
    pub async fn claim_request(
        &self,
        agency_code: &str,
        client_request_id: &str,
        record_id: &str,
    ) -> Result<String, RecordsError> {
        validate_agency_code(agency_code)?;
        validate_client_request_id(client_request_id)?;
        validate_record_id(record_id)?;
        let key = keys::request(agency_code, client_request_id);
        let entry = RequestEntry::new(agency_code, client_request_id, record_id);
        if self
            .store
            .put_if_absent(&key, keys::encode(&key, &entry)?)
            .await?
        {
            return Ok(record_id.to_string());
        }
        self.request_owner(agency_code, client_request_id)
            .await?
            .ok_or_else(|| RecordsError::Corrupt {
                key,
                reason: "the claim vanished while it was read".into(),
            })
    }

    /// Takes the next number in the agency's book for `year`: gapless from 1, unique, also
    /// across processes sharing the store.
    pub async fn reserve_number(
        &self,
        agency_code: &str,
        year: i32,
    ) -> Result<Reservation, RecordsError> {
        self.books.reserve(agency_code, year).await
    }

    /// Stores originals, then the copy, then the record and owner index, then marks the
    /// book entry issued, then the request-id index. Checks first that `record` matches the
    /// reservation and the bytes. Safe to retry with the same arguments.
    pub async fn commit(
        &self,
        r: &Reservation,
        record: &Record,
        copy: Bytes,
        originals: Vec<Bytes>,
    ) -> Result<(), RecordsError> {
        check_record(r, record, &copy, &originals)?;
        let owner_key = keys::owner_entry(&record.owner_id, &record.issued_at, &record.id)?;
        self.books.check_open(r, &record.id).await?;

        for (index, data) in originals.into_iter().enumerate() {
            self.store
                .put(&keys::original(&record.id, index), data)
                .await?;
        }
        self.store.put(&keys::copy(&record.id), copy).await?;

        let record_key = keys::record(&record.id);
        let encoded = keys::encode(&record_key, record)?;
        if !self.store.put_if_absent(&record_key, encoded).await? {
            let stored = self.get(&record.id).await?;
            if stored.as_ref() != Some(record) {
                return Err(RecordsError::IdTaken(record.id.clone()));
            }
        }
        let owner = OwnerEntry {
            schema_version: SCHEMA_VERSION,
            record_id: record.id.clone(),
        };
        self.store
            .put(&owner_key, keys::encode(&owner_key, &owner)?)
            .await?;
        let hash_key = keys::hash(&record.copy_sha256);
        let hash = HashEntry {
            schema_version: SCHEMA_VERSION,
            record_id: record.id.clone(),
        };
        self.store
            .put(&hash_key, keys::encode(&hash_key, &hash)?)
            .await?;

        self.books.mark_issued(r, record).await?;

        let request_key = keys::request(&record.agency_code, &record.client_request_id);
        let request = RequestEntry::new(&record.agency_code, &record.client_request_id, &record.id);
        let encoded = keys::encode(&request_key, &request)?;
        // Usually the entry exists already: Certify claims the request before numbering.
        if !self.store.put_if_absent(&request_key, encoded).await? {
            let owner = self
                .request_owner(&record.agency_code, &record.client_request_id)
                .await?;
            if owner.as_deref() != Some(record.id.as_str()) {
                // Only possible when the request was not claimed first and two processes
                // issued for it at once: both copies are valid and in the book, but retries
                // return the other one.
                tracing::warn!(
                    record = %record.id,
                    other = ?owner,
                    "client request id was issued twice by concurrent processes"
                );
            }
        }
        Ok(())
    }

    /// Enters a reserved number whose copy failed as void with `reason`: never silently
    /// skipped. Idempotent; refuses a number already issued.
    pub async fn void(
        &self,
        agency_code: &str,
        r: &Reservation,
        reason: &str,
    ) -> Result<(), RecordsError> {
        if agency_code != r.agency_code {
            return Err(RecordsError::Mismatch(format!(
                "reservation {} is in the book of {}, not {agency_code}",
                r.number, r.agency_code
            )));
        }
        self.books.void(r, reason).await
    }

    /// The record of copy `id`, if any.
    pub async fn get(&self, id: &str) -> Result<Option<Record>, RecordsError> {
        validate_record_id(id)?;
        let key = keys::record(id);
        match self.store.get(&key).await? {
            Some(bytes) => keys::decode(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    /// The signed copy's bytes, if any.
    pub async fn copy_bytes(&self, id: &str) -> Result<Option<Bytes>, RecordsError> {
        validate_record_id(id)?;
        Ok(self.store.get(&keys::copy(id)).await?)
    }

    /// The bytes of original number `index` (from 0) of copy `id`, if any.
    pub async fn original_bytes(
        &self,
        id: &str,
        index: usize,
    ) -> Result<Option<Bytes>, RecordsError> {
        validate_record_id(id)?;
        Ok(self.store.get(&keys::original(id, index)).await?)
    }

    /// Every line of the agency's book for `year`, by number (for printing and export).
    pub async fn book_entries(
        &self,
        agency_code: &str,
        year: i32,
    ) -> Result<Vec<BookEntry>, RecordsError> {
        self.books.entries(agency_code, year).await
    }

    /// The records of one owner, oldest first.
    pub async fn records_of_owner(&self, owner_id: &str) -> Result<Vec<Record>, RecordsError> {
        validate_owner_id(owner_id)?;
        let listed = self.store.list(&keys::owner_prefix(owner_id)).await?;
        self.records_at(listed).await
    }

    /// Up to `page_size` records of one owner in issue order, after `page_token` (a token
    /// from the previous page; empty for the first).
    pub async fn records_page(
        &self,
        owner_id: &str,
        page_size: usize,
        page_token: &str,
    ) -> Result<RecordPage, RecordsError> {
        validate_owner_id(owner_id)?;
        validate_page_token(page_token)?;
        let prefix = keys::owner_prefix(owner_id);
        let listed = self.store.list(&prefix).await?;
        let after = format!("{prefix}{page_token}");
        let mut rest: Vec<String> = listed
            .into_iter()
            .filter(|k| page_token.is_empty() || *k > after)
            .collect();
        let next_page_token = if rest.len() > page_size {
            rest.truncate(page_size);
            rest.last()
                .and_then(|k| k.strip_prefix(&prefix))
                .map(str::to_string)
        } else {
            None
        };
        Ok(RecordPage {
            records: self.records_at(rest).await?,
            next_page_token,
        })
    }

    /// The record of the copy whose signed bytes hash to `sha256` (hex), if saoy issued it.
    pub async fn find_by_hash(&self, sha256: &str) -> Result<Option<Record>, RecordsError> {
        let sha256 = normalize_sha256(sha256)?;
        let key = keys::hash(&sha256);
        let Some(bytes) = self.store.get(&key).await? else {
            return Ok(None);
        };
        let entry: HashEntry = keys::decode(&key, &bytes)?;
        // The record is written before its index entry, so a miss means damage.
        let record = self
            .get(&entry.record_id)
            .await?
            .ok_or_else(|| RecordsError::Corrupt {
                key: key.clone(),
                reason: format!("points to missing record {}", entry.record_id),
            })?;
        if record.copy_sha256 != sha256 {
            return Err(RecordsError::Corrupt {
                key,
                reason: format!("record {} has another copy hash", record.id),
            });
        }
        Ok(Some(record))
    }

    /// Marks copy `id` revoked with `reason`, `by` and `at`; returns the record as stored.
    /// Revoking a revoked copy changes nothing (the first revocation stands). `None` for an
    /// unknown id.
    pub async fn revoke(
        &self,
        id: &str,
        reason: &str,
        by: &str,
        at: &str,
    ) -> Result<Option<Record>, RecordsError> {
        self.revoke_decided(id, reason, by, at, &super::Decision::default())
            .await
    }

    /// [`Registry::revoke`] with the decision that cancels the copy (TT 01/2020 Art. 7),
    /// noted beside the book entry of its number too (`book-notes/…`).
    pub async fn revoke_decided(
        &self,
        id: &str,
        reason: &str,
        by: &str,
        at: &str,
        decision: &super::Decision,
    ) -> Result<Option<Record>, RecordsError> {
        let (reason, by) = (reason.trim(), by.trim());
        if reason.is_empty() {
            return Err(RecordsError::InvalidInput(
                "reason is empty: say why the copy is revoked (e.g. the decision number)".into(),
            ));
        }
        if by.is_empty() {
            return Err(RecordsError::InvalidInput(
                "by is empty: say who revokes the copy".into(),
            ));
        }
        for (field, value) in [("reason", reason), ("by", by)] {
            if value.chars().count() > 500 || value.chars().any(char::is_control) {
                return Err(RecordsError::InvalidInput(format!(
                    "{field} must be at most 500 characters without control characters"
                )));
            }
        }
        let Some(mut record) = self.get(id).await? else {
            return Ok(None);
        };
        if matches!(record.status, RecordStatus::Revoked { .. }) {
            self.note_revocation(&record).await?;
            return Ok(Some(record));
        }
        if record.kind != super::RecordKind::Copy {
            return Err(RecordsError::InvalidInput(format!(
                "{id} is a refusal notice, not a certified copy: there is nothing to revoke"
            )));
        }
        record.status = RecordStatus::Revoked {
            reason: reason.to_string(),
            by: by.to_string(),
            at: at.to_string(),
            decision_number: decision.number.trim().to_string(),
            decision_date: decision.date.trim().to_string(),
            decided_by: decision.official.trim().to_string(),
        };
        let key = keys::record(id);
        self.store.put(&key, keys::encode(&key, &record)?).await?;
        self.note_revocation(&record).await?;
        Ok(Some(record))
    }

    /// Reads the records the owner-index entries at `keys` point to, in order; entries
    /// whose record is gone are skipped.
    async fn records_at(&self, entries: Vec<String>) -> Result<Vec<Record>, RecordsError> {
        let found: Vec<Option<Record>> = futures::stream::iter(entries)
            .map(|key| async move {
                let Some(bytes) = self.store.get(&key).await? else {
                    return Ok(None);
                };
                let entry: OwnerEntry = keys::decode(&key, &bytes)?;
                self.get(&entry.record_id).await
            })
            .buffered(READ_PARALLELISM)
            .try_collect()
            .await?;
        Ok(found.into_iter().flatten().collect())
    }
}

/// Checks that `record` is what `r`, `copy` and `originals` say before anything is written.
fn check_record(
    r: &Reservation,
    record: &Record,
    copy: &[u8],
    originals: &[Bytes],
) -> Result<(), RecordsError> {
    let mismatch = |what: String| Err(RecordsError::Mismatch(what));
    validate_record_id(&record.id)?;
    validate_owner_id(&record.owner_id)?;
    validate_client_request_id(&record.client_request_id)?;
    if record.schema_version != SCHEMA_VERSION {
        return mismatch(format!("schema_version {}", record.schema_version));
    }
    if (
        &record.agency_code,
        record.number,
        &record.book,
        record.year,
    ) != (&r.agency_code, r.number, &r.book, r.year)
    {
        return mismatch(format!(
            "record is {} no. {} book {}/{}, reservation is {} no. {} book {}/{}",
            record.agency_code,
            record.number,
            record.book,
            record.year,
            r.agency_code,
            r.number,
            r.book,
            r.year
        ));
    }
    if record.status != RecordStatus::Valid {
        return mismatch("a new record must be valid".into());
    }
    if record.copy_size != copy.len() as u64 || record.copy_sha256 != sha256_hex(copy) {
        return mismatch("copy_sha256/copy_size do not match the copy bytes".into());
    }
    if record.originals.len() != originals.len() {
        return mismatch(format!(
            "{} originals described, {} given",
            record.originals.len(),
            originals.len()
        ));
    }
    for (i, (meta, data)) in record.originals.iter().zip(originals).enumerate() {
        if meta.size != data.len() as u64 || meta.sha256 != sha256_hex(data) {
            return mismatch(format!(
                "original {i} ({}) does not match its hash/size",
                meta.name
            ));
        }
    }
    Ok(())
}
