//! The certification book (sổ chứng thực): one gapless number sequence per agency and year.
//!
//! A number is claimed by creating its entry with `put_if_absent`, so two processes sharing
//! a store can never take the same number. A reserver only tries `n` after seeing `n - 1`
//! taken (by itself, or in a listing), and entries are never deleted, so no gap can appear.
//! Within a process, reservers of one book queue on a lock that caches the last number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::{StreamExt, TryStreamExt};

use super::model::{
    BookClosing, BookEntry, BookOpening, EntryState, Record, Reservation, SCHEMA_VERSION,
};
use super::validate::{validate_agency_code, validate_year};
use super::{RecordsError, keys};
use crate::clock::{Clock, rfc3339};
use crate::store::ObjectStore;

/// Highest number the 8-digit entry keys can hold.
const MAX_NUMBER: u64 = 99_999_999;

/// Entries read in parallel when exporting a book.
const READ_PARALLELISM: usize = 16;

/// What a process knows of one (agency, year) book: the last number it saw taken and the
/// book (quyển) numbers are entered in.
#[derive(Default)]
struct Known {
    last: Option<u64>,
    book: u32,
}

type Cursor = Arc<tokio::sync::Mutex<Known>>;

/// Numbering and entries of all books in one store.
pub(super) struct Books {
    store: Arc<dyn ObjectStore>,
    /// Last number this process knows taken, per (agency, year).
    cursors: Mutex<HashMap<(String, i32), Cursor>>,
    /// Identifies this instance's claims, to resolve ambiguous write outcomes.
    instance: String,
    claims: AtomicU64,
    /// Dates the entries.
    clock: Arc<dyn Clock>,
}

impl Books {
    pub(super) fn new(store: Arc<dyn ObjectStore>, clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            store,
            cursors: Mutex::new(HashMap::new()),
            instance: format!("{:016x}", rand::random::<u64>()),
            claims: AtomicU64::new(0),
        }
    }

    fn cursor(&self, agency: &str, year: i32) -> Cursor {
        let mut cursors = self.cursors.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(cursors.entry((agency.to_string(), year)).or_default())
    }

    /// Takes the next free number of `agency`'s book for `year`.
    pub(super) async fn reserve(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<Reservation, RecordsError> {
        validate_agency_code(agency)?;
        validate_year(year)?;
        let cursor = self.cursor(agency, year);
        let mut known = cursor.lock().await;
        let prefix = keys::book_prefix(agency, year);
        let mut next = match known.last {
            Some(n) => n + 1,
            None => {
                // First number of this book in this process: a closed year takes none.
                if self
                    .store
                    .get(&keys::book_closed(agency, year))
                    .await?
                    .is_some()
                {
                    return Err(RecordsError::BookClosed {
                        agency: agency.to_string(),
                        year,
                    });
                }
                known.book = self.highest_opening(agency, year).await?;
                self.highest(&prefix).await? + 1
            }
        };
        // A book opened since (by any process) takes the numbers from now on.
        while self
            .store
            .get(&keys::book_opening(agency, year, known.book + 1))
            .await?
            .is_some()
        {
            known.book += 1;
        }
        let book = book_label(known.book);
        let mut relisted = false;
        loop {
            if next > MAX_NUMBER {
                return Err(RecordsError::BookFull {
                    agency: agency.to_string(),
                    year,
                });
            }
            if self.claim(agency, year, next, &book).await? {
                known.last = Some(next);
                return Ok(Reservation {
                    agency_code: agency.to_string(),
                    number: next,
                    book,
                    year,
                });
            }
            // Another process took `next`: jump past everything taken (listing once per
            // reservation), then step one by one past concurrent claims.
            next = if relisted {
                next + 1
            } else {
                relisted = true;
                (self.highest(&prefix).await? + 1).max(next + 1)
            };
        }
    }

    /// Tries to create the `Reserved` entry for `number` in `book`; `false` if it was taken.
    async fn claim(
        &self,
        agency: &str,
        year: i32,
        number: u64,
        book: &str,
    ) -> Result<bool, RecordsError> {
        let key = keys::book_entry(agency, year, number);
        let claim = self.claims.fetch_add(1, Ordering::Relaxed);
        let entry = BookEntry {
            schema_version: SCHEMA_VERSION,
            agency_code: agency.to_string(),
            year,
            book: book.to_string(),
            number,
            reserved_at: rfc3339(self.clock.now_vietnam()),
            reserved_by: format!("{}-{claim}", self.instance),
            state: EntryState::Reserved,
        };
        let bytes = keys::encode(&key, &entry)?;
        match self.store.put_if_absent(&key, bytes.clone()).await {
            Ok(created) => Ok(created),
            // The write may have landed before the failure (e.g. a lost response): if the
            // entry holds exactly our claim, the number is ours.
            Err(e) => match self.store.get(&key).await {
                Ok(Some(stored)) if stored == bytes => Ok(true),
                _ => Err(e.into()),
            },
        }
    }

    /// The number of the latest book opened in `year` (1 when none was opened: the year's
    /// first book needs no opening).
    async fn highest_opening(&self, agency: &str, year: i32) -> Result<u32, RecordsError> {
        let prefix = keys::book_openings(agency, year);
        let listed = self.store.list(&prefix).await?;
        Ok(listed
            .iter()
            .filter_map(|k| k.strip_prefix(&prefix)?.strip_suffix(".json")?.parse().ok())
            .max()
            .unwrap_or(1))
    }

    /// Opens the next book of `agency` in `year`; its numbers continue from the last one
    /// taken (NĐ 23/2015 Art. 13(2)). Processes pick it up on their next reservation.
    pub(super) async fn open_next(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<BookOpening, RecordsError> {
        validate_agency_code(agency)?;
        validate_year(year)?;
        if self
            .store
            .get(&keys::book_closed(agency, year))
            .await?
            .is_some()
        {
            return Err(RecordsError::BookClosed {
                agency: agency.to_string(),
                year,
            });
        }
        let mut book = self.highest_opening(agency, year).await? + 1;
        loop {
            if book > 99 {
                return Err(RecordsError::BookNotReady {
                    agency: agency.to_string(),
                    year,
                    problem: "99 books were opened this year".into(),
                });
            }
            let opening = BookOpening {
                schema_version: SCHEMA_VERSION,
                agency_code: agency.to_string(),
                year,
                book: book_label(book),
                first_number: self.highest(&keys::book_prefix(agency, year)).await? + 1,
                opened_at: rfc3339(self.clock.now_vietnam()),
            };
            let key = keys::book_opening(agency, year, book);
            if self
                .store
                .put_if_absent(&key, keys::encode(&key, &opening)?)
                .await?
            {
                return Ok(opening);
            }
            book += 1;
        }
    }

    /// The books opened in `year` after its first, in order.
    pub(super) async fn openings(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<Vec<BookOpening>, RecordsError> {
        let prefix = keys::book_openings(agency, year);
        let mut out = Vec::new();
        for key in self.store.list(&prefix).await? {
            if let Some(bytes) = self.store.get(&key).await? {
                out.push(keys::decode::<BookOpening>(&key, &bytes)?);
            }
        }
        out.sort_by_key(|o| o.first_number);
        Ok(out)
    }

    /// The closing of `year`'s book, if it was closed.
    pub(super) async fn closing(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<Option<BookClosing>, RecordsError> {
        let key = keys::book_closed(agency, year);
        match self.store.get(&key).await? {
            None => Ok(None),
            Some(bytes) => Ok(Some(keys::decode(&key, &bytes)?)),
        }
    }

    /// Closes `year`'s book with `closing` (create-only: the first closing stays); returns
    /// the closing in force and whether this call made it.
    pub(super) async fn close(
        &self,
        closing: &BookClosing,
    ) -> Result<(BookClosing, bool), RecordsError> {
        let key = keys::book_closed(&closing.agency_code, closing.year);
        if self
            .store
            .put_if_absent(&key, keys::encode(&key, closing)?)
            .await?
        {
            return Ok((closing.clone(), true));
        }
        let stored = self
            .closing(&closing.agency_code, closing.year)
            .await?
            .ok_or_else(|| RecordsError::Corrupt {
                key,
                reason: "taken but unreadable".into(),
            })?;
        Ok((stored, false))
    }

    /// The highest number with an entry under `prefix`, 0 for an empty book.
    async fn highest(&self, prefix: &str) -> Result<u64, RecordsError> {
        let listed = self.store.list(prefix).await?;
        Ok(listed
            .iter()
            .rev()
            .find_map(|key| keys::book_number(prefix, key))
            .unwrap_or(0))
    }

    async fn read(&self, r: &Reservation) -> Result<(String, BookEntry), RecordsError> {
        let key = keys::book_entry(&r.agency_code, r.year, r.number);
        let bytes = self
            .store
            .get(&key)
            .await?
            .ok_or_else(|| state_error(r, "was never reserved"))?;
        let entry = keys::decode(&key, &bytes)?;
        Ok((key, entry))
    }

    /// Checks that `r` may still be issued as `record_id` (reserved, or already issued to
    /// the same record on a retry).
    pub(super) async fn check_open(
        &self,
        r: &Reservation,
        record_id: &str,
    ) -> Result<(), RecordsError> {
        let (_, entry) = self.read(r).await?;
        issuable(r, &entry, record_id).map(|_| ())
    }

    /// Enters `record` as issued under `r` (a no-op if it already is).
    pub(super) async fn mark_issued(
        &self,
        r: &Reservation,
        record: &Record,
    ) -> Result<(), RecordsError> {
        let (key, mut entry) = self.read(r).await?;
        if issuable(r, &entry, &record.id)? == Issuable::AlreadyIssued {
            return Ok(());
        }
        entry.state = EntryState::Issued {
            record_id: record.id.clone(),
            issued_at: record.issued_at.clone(),
            owner_id: record.owner_id.clone(),
            document_type: record.document_type.clone(),
            document_name: record.document_name.clone(),
            procedure_code: record.procedure_code.clone(),
            page_count: record.page_count,
            copy_sha256: record.copy_sha256.clone(),
        };
        self.store.put(&key, keys::encode(&key, &entry)?).await?;
        Ok(())
    }

    /// Enters `r` as void with `reason`. Voiding twice keeps the first reason; an issued
    /// number cannot be voided (revoke the copy instead).
    pub(super) async fn void(&self, r: &Reservation, reason: &str) -> Result<(), RecordsError> {
        validate_agency_code(&r.agency_code)?;
        validate_year(r.year)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(RecordsError::InvalidInput(
                "a void entry needs a reason: say why no copy was issued".into(),
            ));
        }
        let (key, mut entry) = self.read(r).await?;
        match entry.state {
            EntryState::Reserved => {}
            EntryState::Void { .. } => return Ok(()),
            EntryState::Issued { record_id, .. } => {
                return Err(state_error(
                    r,
                    &format!("was issued as copy {record_id}; revoke the copy instead of voiding"),
                ));
            }
        }
        entry.state = EntryState::Void {
            reason: reason.to_string(),
            at: rfc3339(self.clock.now_vietnam()),
        };
        self.store.put(&key, keys::encode(&key, &entry)?).await?;
        Ok(())
    }

    /// All entries of a book, by number.
    pub(super) async fn entries(
        &self,
        agency: &str,
        year: i32,
    ) -> Result<Vec<BookEntry>, RecordsError> {
        validate_agency_code(agency)?;
        validate_year(year)?;
        let prefix = keys::book_prefix(agency, year);
        let listed = self.store.list(&prefix).await?;
        let numbered: Vec<String> = listed
            .into_iter()
            .filter(|key| keys::book_number(&prefix, key).is_some())
            .collect();
        futures::stream::iter(numbered)
            .map(|key| async move {
                let bytes = self
                    .store
                    .get(&key)
                    .await?
                    .ok_or_else(|| RecordsError::Corrupt {
                        key: key.clone(),
                        reason: "listed but no longer readable".into(),
                    })?;
                keys::decode::<BookEntry>(&key, &bytes)
            })
            .buffered(READ_PARALLELISM)
            .try_collect()
            .await
    }
}

/// The printed book number (quyển số) of book `n`: "01", "02", ...
fn book_label(n: u32) -> String {
    format!("{:02}", n.max(1))
}

/// Whether an entry can take a record.
#[derive(PartialEq)]
enum Issuable {
    /// Reserved and waiting for its copy.
    Open,
    /// Already issued to this very record (a retried commit).
    AlreadyIssued,
}

fn issuable(r: &Reservation, entry: &BookEntry, record_id: &str) -> Result<Issuable, RecordsError> {
    match &entry.state {
        EntryState::Reserved => Ok(Issuable::Open),
        EntryState::Issued { record_id: id, .. } if id == record_id => Ok(Issuable::AlreadyIssued),
        EntryState::Issued { record_id: id, .. } => {
            Err(state_error(r, &format!("was already issued as copy {id}")))
        }
        EntryState::Void { reason, .. } => Err(state_error(
            r,
            &format!("was voided ({reason}); reserve a new number"),
        )),
    }
}

fn state_error(r: &Reservation, problem: &str) -> RecordsError {
    RecordsError::BookState {
        agency: r.agency_code.clone(),
        year: r.year,
        number: r.number,
        problem: problem.to_string(),
    }
}
