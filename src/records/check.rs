//! `saoy store check`: finds (and with `repair`, fixes) what an interrupted write or an
//! outage can leave behind in a store, given the write order of [`super::Registry::commit`].
//!
//! | finding | meaning | `repair` |
//! |---|---|---|
//! | [`FindingKind::DanglingRecord`] | a record whose copy or originals are missing | reported only |
//! | [`FindingKind::Orphan`] | an object under `copies/` that no record claims | deleted |
//! | [`FindingKind::DanglingIndex`] | an owners/hashes/requests entry whose record is missing (or another) | deleted |
//! | [`FindingKind::AbandonedClaim`] | a requests/ claim whose attempt failed before its record, past the grace period | deleted (frees the request id) |
//! | [`FindingKind::StaleReservation`] | a book entry still reserved after the grace period (not held by a copy awaiting its certifier, `pending/`) | voided, reason `abandoned: …` |
//! | [`FindingKind::IssuedWithoutRecord`] | a book entry issued to a record that is missing | reported only |
//! | [`FindingKind::Unreadable`] | a document that cannot be decoded | reported only |
//! | [`FindingKind::MissingIndex`] | a complete record without its owner/hash/request entry | entry written |
//! | [`FindingKind::UnfinishedCommit`] | a reserved book entry whose record (with its bytes) is stored | entered as issued |
//! | [`FindingKind::VoidWithRecord`] | a void book entry with a record under its number | reported only |
//!
//! Interrupted commits are rolled forward, in the commit's own order (owner and hash entries,
//! then the book, then the request entry), never backward: a record that has its bytes stays.
//!
//! A record is never deleted. Work younger than the grace period (copies of an id whose
//! UUIDv7 time is recent, reservations taken recently) may still be in flight on a running
//! server and is counted as such, not reported. Before anything is reported as missing it is
//! read again, so a commit that finishes while the check runs is not mistaken for damage.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::book::Books;
use super::model::{BookEntry, EntryState, HashEntry, OwnerEntry, Record, RequestEntry};
use super::{RecordsError, keys};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::store::ObjectStore;

/// Default age after which a reservation without a record, or copy objects without a
/// record, count as abandoned rather than in flight.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10 * 60);

/// How to check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// Fix what can be fixed safely (see the module docs).
    pub repair: bool,
    /// Work younger than this is considered in flight.
    pub grace: Duration,
    /// The time ages are measured against (now, normally).
    pub now: OffsetDateTime,
}

impl Default for CheckOptions {
    fn default() -> Self {
        Self {
            repair: false,
            grace: DEFAULT_GRACE,
            now: SystemClock.now(),
        }
    }
}

/// Kinds of leftovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    /// A record whose copy or an original is missing.
    DanglingRecord,
    /// A copy or original object that no record claims.
    Orphan,
    /// An owners/, hashes/ or requests/ entry pointing at a missing (or different) record.
    DanglingIndex,
    /// A book entry still `reserved` after the grace period, with no record.
    StaleReservation,
    /// A book entry `issued` to a record that does not exist.
    IssuedWithoutRecord,
    /// A stored document that cannot be decoded.
    Unreadable,
    /// A complete record (bytes present) whose owner, hash or request index entry is missing:
    /// its commit was interrupted after the record.
    MissingIndex,
    /// A book entry still `reserved` although the record of that number is stored: the
    /// commit was interrupted before the book was updated.
    UnfinishedCommit,
    /// A book entry entered as void although a record is stored under that number.
    VoidWithRecord,
    /// A requests/ entry that claimed a copy id for a request whose attempt failed before
    /// its record was stored (a retry reuses the id; `--repair` frees the request id).
    AbandonedClaim,
}

impl FindingKind {
    /// Short name used in the printed report.
    pub fn label(self) -> &'static str {
        match self {
            Self::DanglingRecord => "dangling record",
            Self::Orphan => "orphan object",
            Self::DanglingIndex => "dangling index entry",
            Self::StaleReservation => "stale reservation",
            Self::IssuedWithoutRecord => "issued without record",
            Self::Unreadable => "unreadable document",
            Self::MissingIndex => "missing index entry",
            Self::UnfinishedCommit => "unfinished commit",
            Self::VoidWithRecord => "void number with a record",
            Self::AbandonedClaim => "abandoned request claim",
        }
    }
}

/// What was done about a finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Reported only (no repair asked, or not safely repairable).
    Reported,
    /// Repaired; says how.
    Repaired(String),
    /// The repair was tried and failed; says why.
    RepairFailed(String),
}

/// One leftover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// The key concerned.
    pub key: String,
    /// What is wrong.
    pub detail: String,
    /// What was done.
    pub action: Action,
}

/// The outcome of a check.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// Records read.
    pub records: usize,
    /// Objects under `copies/`.
    pub copy_objects: usize,
    /// Index entries under owners/, hashes/, requests/.
    pub index_entries: usize,
    /// Book entries.
    pub book_entries: usize,
    /// Items skipped because they are younger than the grace period.
    pub in_flight: usize,
    /// Everything found, in the order found.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// True when nothing was found.
    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }

    /// Findings of one kind.
    pub fn of(&self, kind: FindingKind) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.kind == kind).collect()
    }

    /// A human-readable report, one line per finding, then a summary.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let action = match &f.action {
                Action::Reported => String::new(),
                Action::Repaired(how) => format!(" → repaired: {how}"),
                Action::RepairFailed(why) => format!(" → repair failed: {why}"),
            };
            let _ = writeln!(out, "{}: {}: {}{action}", f.kind.label(), f.key, f.detail);
        }
        let mut counts: BTreeMap<FindingKind, usize> = BTreeMap::new();
        for f in &self.findings {
            *counts.entry(f.kind).or_default() += 1;
        }
        let repaired = self
            .findings
            .iter()
            .filter(|f| matches!(f.action, Action::Repaired(_)))
            .count();
        let _ = write!(
            out,
            "checked {} records, {} copy objects, {} index entries, {} book entries; {} in flight (younger than the grace period); ",
            self.records, self.copy_objects, self.index_entries, self.book_entries, self.in_flight
        );
        if counts.is_empty() {
            let _ = writeln!(out, "clean");
        } else {
            let parts: Vec<String> = counts
                .iter()
                .map(|(k, n)| format!("{n} {}", k.label()))
                .collect();
            let _ = writeln!(
                out,
                "{} problem(s): {}; {repaired} repaired",
                self.findings.len(),
                parts.join(", ")
            );
        }
        out
    }
}

/// Checks (and with `options.repair`, repairs) the store. Fails only when the store
/// itself cannot be read; damaged documents are findings.
pub async fn check_store(
    store: Arc<dyn ObjectStore>,
    options: &CheckOptions,
) -> Result<CheckReport, RecordsError> {
    let mut c = Checker {
        // Entries voided by a repair are dated by the time the check measures ages against.
        books: Books::new(Arc::clone(&store), Arc::new(FixedClock(options.now))),
        store,
        options: options.clone(),
        report: CheckReport::default(),
        records: BTreeMap::new(),
        complete: BTreeMap::new(),
        missing_requests: Vec::new(),
        pending_ids: std::collections::BTreeSet::new(),
        pending_numbers: std::collections::BTreeSet::new(),
    };
    c.pending().await?;
    c.records().await?;
    c.copies().await?;
    c.indexes().await?;
    c.book().await?;
    c.requests().await?;
    Ok(c.report)
}

struct Checker {
    store: Arc<dyn ObjectStore>,
    books: Books,
    options: CheckOptions,
    report: CheckReport,
    /// Readable records by id.
    records: BTreeMap<String, Record>,
    /// Records with all their bytes, by (agency, year, number).
    complete: BTreeMap<(String, i32, u64), String>,
    /// Complete records whose request entry is missing (written last, after the book).
    missing_requests: Vec<Record>,
    /// Copies awaiting their certifier's signature (they hold a request claim and a
    /// reserved number until they are signed or voided by their deadline).
    pending_ids: std::collections::BTreeSet<String>,
    /// The (agency, year, number) those copies hold.
    pending_numbers: std::collections::BTreeSet<(String, i32, u64)>,
}

impl Checker {
    fn find(&mut self, kind: FindingKind, key: &str, detail: String, action: Action) {
        self.report.findings.push(Finding {
            kind,
            key: key.to_string(),
            detail,
            action,
        });
    }

    /// The decoded document, or `None` after reporting it as unreadable.
    fn readable<T>(&mut self, key: &str, decoded: Result<T, RecordsError>) -> Option<T> {
        match decoded {
            Ok(value) => Some(value),
            Err(e) => {
                self.find(
                    FindingKind::Unreadable,
                    key,
                    e.to_string(),
                    Action::Reported,
                );
                None
            }
        }
    }

    fn older_than_grace(&self, at: Option<OffsetDateTime>) -> bool {
        match at {
            // Unknown age: treat as old (nothing can still be writing it).
            None => true,
            Some(at) => self.options.now - at >= self.options.grace,
        }
    }

    /// Notes the copies awaiting a certifier (pending/): not leftovers of a failed write.
    async fn pending(&mut self) -> Result<(), RecordsError> {
        let listed = self.store.list("pending/").await?;
        let ended: std::collections::BTreeSet<&str> = listed
            .iter()
            .filter_map(|k| k.strip_suffix(".outcome.json"))
            .collect();
        for key in &listed {
            let Some(stem) = key.strip_suffix(".json") else {
                continue;
            };
            if stem.ends_with(".outcome") || ended.contains(stem) {
                continue;
            }
            let Some(bytes) = self.store.get(key).await? else {
                continue;
            };
            let decoded = keys::decode::<super::PendingCopy>(key, &bytes);
            if let Some(p) = self.readable(key, decoded) {
                self.pending_numbers.insert((
                    p.record.agency_code.clone(),
                    p.record.year,
                    p.record.number,
                ));
                self.pending_ids.insert(p.record.id);
            }
        }
        Ok(())
    }

    /// The record of `id`, from the listing or read again (it may have appeared since).
    async fn record(&self, id: &str) -> Result<Option<Record>, RecordsError> {
        if let Some(r) = self.records.get(id) {
            return Ok(Some(r.clone()));
        }
        if super::validate::validate_record_id(id).is_err() {
            return Ok(None);
        }
        let key = keys::record(id);
        match self.store.get(&key).await? {
            None => Ok(None),
            Some(bytes) => Ok(keys::decode::<Record>(&key, &bytes).ok()),
        }
    }

    /// True when a record key exists for `id` at all (readable or not).
    async fn record_exists(&self, id: &str) -> Result<bool, RecordsError> {
        if self.records.contains_key(id) {
            return Ok(true);
        }
        if super::validate::validate_record_id(id).is_err() {
            return Ok(false);
        }
        Ok(self.store.get(&keys::record(id)).await?.is_some())
    }

    async fn delete(&self, key: &str) -> Action {
        match self.store.delete(key).await {
            Ok(()) => Action::Repaired("deleted".into()),
            Err(e) => Action::RepairFailed(e.to_string()),
        }
    }

    /// (a) records whose copy or originals are missing.
    async fn records(&mut self) -> Result<(), RecordsError> {
        let listed = self.store.list("records/").await?;
        for key in listed {
            let Some(id) = key
                .strip_prefix("records/")
                .and_then(|k| k.strip_suffix(".json"))
            else {
                self.find(
                    FindingKind::Unreadable,
                    &key,
                    "not a record key (records/{id}.json)".into(),
                    Action::Reported,
                );
                continue;
            };
            let Some(bytes) = self.store.get(&key).await? else {
                continue; // deleted since the listing
            };
            let Some(record) = self.readable(&key, keys::decode::<Record>(&key, &bytes)) else {
                continue;
            };
            if record.id != id {
                self.find(
                    FindingKind::Unreadable,
                    &key,
                    format!("holds the record of {}", record.id),
                    Action::Reported,
                );
                continue;
            }
            self.report.records += 1;
            let mut missing = Vec::new();
            if self.store.get(&keys::copy(id)).await?.is_none() {
                missing.push(keys::copy(id));
            }
            for index in 0..record.originals.len() {
                let k = keys::original(id, index);
                if self.store.get(&k).await?.is_none() {
                    missing.push(k);
                }
            }
            if missing.is_empty() {
                self.complete.insert(
                    (record.agency_code.clone(), record.year, record.number),
                    record.id.clone(),
                );
                self.missing_indexes(&record).await?;
            } else {
                self.find(
                    FindingKind::DanglingRecord,
                    &key,
                    format!(
                        "missing {} (the record is kept: revoke or restore by hand)",
                        missing.join(", ")
                    ),
                    Action::Reported,
                );
            }
            self.records.insert(id.to_string(), record);
        }
        Ok(())
    }

    /// The owner and hash entries of a complete record (written now with `repair`); a
    /// missing request entry is noted for [`Checker::requests`].
    async fn missing_indexes(&mut self, record: &Record) -> Result<(), RecordsError> {
        if !self.older_than_grace(uuid_time(&record.id)) {
            return Ok(());
        }
        let id = record.id.clone();
        let mut wanted = Vec::new();
        if let Ok(key) = keys::owner_entry(&record.owner_id, &record.issued_at, &id) {
            let entry = OwnerEntry {
                schema_version: super::SCHEMA_VERSION,
                record_id: id.clone(),
            };
            wanted.push((key.clone(), keys::encode(&key, &entry)?));
        }
        let key = keys::hash(&record.copy_sha256);
        let entry = HashEntry {
            schema_version: super::SCHEMA_VERSION,
            record_id: id.clone(),
        };
        wanted.push((key.clone(), keys::encode(&key, &entry)?));
        for (key, bytes) in wanted {
            if self.store.get(&key).await?.is_some() {
                continue;
            }
            let action = if self.options.repair {
                match self.store.put(&key, bytes).await {
                    Ok(()) => Action::Repaired("written".into()),
                    Err(e) => Action::RepairFailed(e.to_string()),
                }
            } else {
                Action::Reported
            };
            self.find(
                FindingKind::MissingIndex,
                &key,
                format!("record {id} has no index entry here"),
                action,
            );
        }
        let request = keys::request(&record.agency_code, &record.client_request_id);
        if self.store.get(&request).await?.is_none() {
            self.missing_requests.push(record.clone());
        }
        Ok(())
    }

    /// Request entries of complete records, written last as in the commit.
    async fn requests(&mut self) -> Result<(), RecordsError> {
        for record in std::mem::take(&mut self.missing_requests) {
            let key = keys::request(&record.agency_code, &record.client_request_id);
            let action = if self.options.repair {
                let entry =
                    RequestEntry::new(&record.agency_code, &record.client_request_id, &record.id);
                let bytes = keys::encode(&key, &entry)?;
                match self.store.put_if_absent(&key, bytes).await {
                    Ok(true) => Action::Repaired("written".into()),
                    Ok(false) => Action::Repaired("written meanwhile by another process".into()),
                    Err(e) => Action::RepairFailed(e.to_string()),
                }
            } else {
                Action::Reported
            };
            self.find(
                FindingKind::MissingIndex,
                &key,
                format!(
                    "record {} has no request entry: a retry of its client request id would issue another copy",
                    record.id
                ),
                action,
            );
        }
        Ok(())
    }

    /// (b) objects under `copies/` that no record claims.
    async fn copies(&mut self) -> Result<(), RecordsError> {
        let listed = self.store.list("copies/").await?;
        self.report.copy_objects = listed.len();
        let mut by_id: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for key in listed {
            let id = key
                .strip_prefix("copies/")
                .and_then(|k| k.split_once('/'))
                .map(|(id, _)| id.to_string())
                .unwrap_or_default();
            by_id.entry(id).or_default().push(key);
        }
        for (id, objects) in by_id {
            let claimed: BTreeSet<String> = match self.record(&id).await? {
                Some(r) => std::iter::once(keys::copy(&id))
                    .chain((0..r.originals.len()).map(|i| keys::original(&id, i)))
                    .collect(),
                // A record that exists but cannot be read: keep its bytes.
                None if self.record_exists(&id).await? => continue,
                None => {
                    if !self.older_than_grace(uuid_time(&id)) {
                        self.report.in_flight += objects.len();
                        continue;
                    }
                    BTreeSet::new()
                }
            };
            for key in objects.into_iter().filter(|k| !claimed.contains(k)) {
                let detail = if claimed.is_empty() {
                    format!("no record {} claims it", keys::record(&id))
                } else {
                    format!("record {id} does not list it")
                };
                let action = if self.options.repair {
                    self.delete(&key).await
                } else {
                    Action::Reported
                };
                self.find(FindingKind::Orphan, &key, detail, action);
            }
        }
        Ok(())
    }

    /// (c) owners/, hashes/ and requests/ entries whose record is missing.
    async fn indexes(&mut self) -> Result<(), RecordsError> {
        for prefix in ["owners/", "hashes/", "requests/"] {
            let listed = self.store.list(prefix).await?;
            self.report.index_entries += listed.len();
            for key in listed {
                let Some(bytes) = self.store.get(&key).await? else {
                    continue;
                };
                let target = match prefix {
                    "owners/" => keys::decode::<OwnerEntry>(&key, &bytes).map(|e| e.record_id),
                    "hashes/" => keys::decode::<HashEntry>(&key, &bytes).map(|e| e.record_id),
                    _ => keys::decode::<RequestEntry>(&key, &bytes).map(|e| e.record_id),
                };
                let Some(id) = self.readable(&key, target) else {
                    continue;
                };
                let problem = match self.record(&id).await? {
                    None if self.record_exists(&id).await? => None,
                    // A copy awaiting its certifier has no record yet.
                    None if self.pending_ids.contains(&id) => None,
                    // A claim whose attempt may still be running is left alone.
                    None if prefix == "requests/" && !self.older_than_grace(uuid_time(&id)) => None,
                    None => Some(format!("points to missing record {id}")),
                    Some(r) => index_mismatch(prefix, &key, &r),
                };
                if let Some(detail) = problem {
                    let kind = if prefix == "requests/" && detail.starts_with("points to missing") {
                        FindingKind::AbandonedClaim
                    } else {
                        FindingKind::DanglingIndex
                    };
                    let action = if self.options.repair {
                        self.delete(&key).await
                    } else {
                        Action::Reported
                    };
                    self.find(kind, &key, detail, action);
                }
            }
        }
        Ok(())
    }

    /// (d) reservations without a record past the grace period, issued entries without one.
    async fn book(&mut self) -> Result<(), RecordsError> {
        let listed = self.store.list("books/").await?;
        // Book openings, year closings and printed books live beside the entries.
        for key in listed.into_iter().filter(|k| keys::is_book_entry(k)) {
            let Some(bytes) = self.store.get(&key).await? else {
                continue;
            };
            let Some(entry) = self.readable(&key, keys::decode::<BookEntry>(&key, &bytes)) else {
                continue;
            };
            self.report.book_entries += 1;
            match &entry.state {
                EntryState::Void { reason, .. } => {
                    let at = (entry.agency_code.clone(), entry.year, entry.number);
                    if let Some(id) = self.complete.get(&at).cloned() {
                        self.find(
                            FindingKind::VoidWithRecord,
                            &key,
                            format!(
                                "number {} is void ({reason}) but record {id} is stored under it: revoke the copy or correct the book by hand",
                                entry.number
                            ),
                            Action::Reported,
                        );
                    }
                }
                EntryState::Issued { record_id, .. } => {
                    if !self.record_exists(record_id).await? {
                        self.find(
                            FindingKind::IssuedWithoutRecord,
                            &key,
                            format!(
                                "number {} is entered as issued to {record_id}, whose record is missing",
                                entry.number
                            ),
                            Action::Reported,
                        );
                    }
                }
                EntryState::Reserved => {
                    let reserved_at = OffsetDateTime::parse(&entry.reserved_at, &Rfc3339).ok();
                    let held = (entry.agency_code.clone(), entry.year, entry.number);
                    if !self.older_than_grace(reserved_at) || self.pending_numbers.contains(&held) {
                        self.report.in_flight += 1;
                        continue;
                    }
                    let r = super::model::Reservation {
                        agency_code: entry.agency_code.clone(),
                        number: entry.number,
                        book: entry.book.clone(),
                        year: entry.year,
                    };
                    let at = (entry.agency_code.clone(), entry.year, entry.number);
                    if let Some(record) = self
                        .complete
                        .get(&at)
                        .and_then(|id| self.records.get(id))
                        .cloned()
                    {
                        let action = if self.options.repair {
                            match self.books.mark_issued(&r, &record).await {
                                Ok(()) => {
                                    Action::Repaired(format!("entered as issued to {}", record.id))
                                }
                                Err(e) => Action::RepairFailed(e.to_string()),
                            }
                        } else {
                            Action::Reported
                        };
                        self.find(
                            FindingKind::UnfinishedCommit,
                            &key,
                            format!(
                                "number {} is still reserved but record {} with its bytes is stored under it",
                                entry.number, record.id
                            ),
                            action,
                        );
                        continue;
                    }
                    if let Some(record) = self.records.values().find(|rec| {
                        (&rec.agency_code, rec.year, rec.number)
                            == (&entry.agency_code, entry.year, entry.number)
                    }) {
                        let detail = format!(
                            "number {} is still reserved; record {} is stored under it but misses bytes",
                            entry.number, record.id
                        );
                        self.find(
                            FindingKind::UnfinishedCommit,
                            &key,
                            detail,
                            Action::Reported,
                        );
                        continue;
                    }
                    let detail = format!(
                        "number {} reserved at {} by {}, no copy was issued under it",
                        entry.number, entry.reserved_at, entry.reserved_by
                    );
                    let action = if self.options.repair {
                        let reason = format!(
                            "abandoned: reserved at {} by {}, no copy was stored (found by saoy store check)",
                            entry.reserved_at, entry.reserved_by
                        );
                        match self.books.void(&r, &reason).await {
                            Ok(()) => Action::Repaired(format!("entered as void: {reason}")),
                            Err(e) => Action::RepairFailed(e.to_string()),
                        }
                    } else {
                        Action::Reported
                    };
                    self.find(FindingKind::StaleReservation, &key, detail, action);
                }
            }
        }
        Ok(())
    }
}

/// Whether an index entry at `key` names the right record.
fn index_mismatch(prefix: &str, key: &str, record: &Record) -> Option<String> {
    let expected = match prefix {
        "owners/" => keys::owner_entry(&record.owner_id, &record.issued_at, &record.id).ok(),
        "hashes/" => Some(keys::hash(&record.copy_sha256)),
        _ => Some(keys::request(
            &record.agency_code,
            &record.client_request_id,
        )),
    };
    match expected {
        Some(k) if k == key => None,
        // Two processes may have issued for one request id: the entry names one of them.
        _ if prefix == "requests/" => None,
        Some(k) => Some(format!(
            "points to record {}, whose entry is {k}",
            record.id
        )),
        None => Some(format!(
            "points to record {} with a bad issue time",
            record.id
        )),
    }
}

/// The creation time embedded in a UUIDv7 id; `None` for other ids.
fn uuid_time(id: &str) -> Option<OffsetDateTime> {
    let uuid = uuid::Uuid::parse_str(id).ok()?;
    if uuid.get_version_num() != 7 {
        return None;
    }
    let (secs, nanos) = uuid.get_timestamp()?.to_unix();
    let secs = i64::try_from(secs).ok()?;
    OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .map(|t| t + Duration::from_nanos(u64::from(nanos)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v7_time_is_read() {
        let now = SystemClock.now();
        let id = uuid::Uuid::now_v7().to_string();
        let t = uuid_time(&id).expect("v7 has a time");
        assert!((now - t).abs() < time::Duration::seconds(5));
        assert_eq!(uuid_time(&uuid::Uuid::new_v4().to_string()), None);
        assert_eq!(uuid_time("not-a-uuid"), None);
    }
}
