//! The book's life without a running server (NĐ 23/2015 Art. 13–14): open the next book
//! within a year, print a month signed by the agency, close a year with its total, and the
//! agency's periodic report. Each works from the store and the agency's signer as the
//! configuration names them, and takes the clock, so tests drive the calendar.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, Month};

use super::*;
use crate::pdf::document::{Block, TextDocument, text_document};
use crate::records::{BookClosing, BookEntry, BookOpening, EntryState, RefusalEntry};

/// The agency `code` of the configuration (a table or a file of `agencies_dir`), with its
/// signer loaded.
fn agency_of(config: &Config, code: &str) -> Result<Arc<agencies::Agency>> {
    let all = agencies::Agencies::load(config)?;
    all.get(code).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "agency {code} is not in the configuration (it has {})",
            all.all()
                .iter()
                .map(|a| a.config.code.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// The Vietnam date of an RFC 3339 time.
fn day_of(at: &str) -> Option<Date> {
    OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.to_offset(crate::clock::VIETNAM_OFFSET).date())
}

/// The date an entry counts for: issue, voiding, or reservation.
fn entry_date(e: &BookEntry) -> Option<Date> {
    let at = match &e.state {
        EntryState::Issued { issued_at, .. } => issued_at,
        EntryState::Void { at, .. } => at,
        EntryState::Reserved => &e.reserved_at,
    };
    day_of(at)
}

/// Opens the next book of `agency` for the current year (by `clock`).
pub async fn open_next_book(
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    agency: &str,
) -> Result<BookOpening> {
    let year = clock.now_vietnam().year();
    Ok(Registry::with_clock(store, clock)
        .open_next_book(agency, year)
        .await?)
}

/// A month's printout: `YYYY-MM`.
pub fn parse_month(text: &str) -> Result<(i32, Month)> {
    let bad = || Error::InvalidArgument(format!("--month {text:?}: give the month as YYYY-MM"));
    let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let month: u8 = m.parse().map_err(|_| bad())?;
    Ok((year, Month::try_from(month).map_err(|_| bad())?))
}

struct Printing<'a> {
    agency: &'a agencies::Agency,
    registry: &'a Registry,
    now: OffsetDateTime,
}

impl Printing<'_> {
    /// Table rows for `entries`, in number order.
    async fn rows(&self, entries: &[BookEntry], openings: &[BookOpening]) -> Result<Vec<Block>> {
        let widths = [30.0, 54.0, 72.0, 124.0, 82.0, 36.0, 44.0, 57.0];
        let header = [
            "Số",
            "Ngày",
            "Người yêu cầu (số định danh)",
            "Giấy tờ",
            "Người ký chứng thực",
            "Quyển",
            "Lệ phí (đồng)",
            "Kết quả",
        ];
        let mut rows = vec![Block::Row {
            cells: widths
                .iter()
                .zip(header)
                .map(|(w, t)| (*w, t.to_string()))
                .collect(),
            bold: true,
        }];
        for e in entries {
            let date = entry_date(e).map(|d| d.to_string()).unwrap_or_default();
            let book = openings
                .iter()
                .rev()
                .find(|o| o.first_number <= e.number)
                .map_or(e.book.clone(), |o| o.book.clone());
            let (owner, document, signer, fee, outcome) = match &e.state {
                EntryState::Issued {
                    record_id,
                    owner_id,
                    document_type,
                    document_name,
                    ..
                } => {
                    let record = self.registry.get(record_id).await?;
                    let fee = record
                        .as_ref()
                        .and_then(|r| r.fee_vnd)
                        .map(|f| f.to_string())
                        .unwrap_or_default();
                    let signer = record
                        .as_ref()
                        .and_then(|r| r.signers.get(1).or(r.signers.first()))
                        .map(|s| s.name.clone())
                        .unwrap_or_default();
                    let outcome = match record.map(|r| r.status) {
                        Some(RecordStatus::Revoked {
                            reason,
                            decision_number,
                            decision_date,
                            ..
                        }) if !decision_number.is_empty() => format!(
                            "Cấp; thu hồi theo quyết định {decision_number} ngày {decision_date}: {reason}"
                        ),
                        Some(RecordStatus::Revoked { reason, .. }) => {
                            format!("Cấp; thu hồi: {reason}")
                        }
                        _ => "Cấp bản sao".into(),
                    };
                    (
                        owner_id.clone(),
                        format!("{document_type}: {document_name}"),
                        signer,
                        fee,
                        outcome,
                    )
                }
                EntryState::Void { reason, .. } => (
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    format!("Hủy số: {reason}"),
                ),
                EntryState::Reserved => (
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    "Đang xử lý".into(),
                ),
            };
            let cells = [
                e.number.to_string(),
                date,
                owner,
                document,
                signer,
                book,
                fee,
                outcome,
            ];
            rows.push(Block::Row {
                cells: widths.iter().copied().zip(cells).collect(),
                bold: false,
            });
        }
        Ok(rows)
    }

    /// Table rows for the refusals (no number), in time order.
    fn refusal_rows(refusals: &[RefusalEntry]) -> Vec<Block> {
        let widths = [92.0, 78.0, 170.0, 159.0];
        let header = [
            "Ngày",
            "Người yêu cầu (số định danh)",
            "Giấy tờ",
            "Lý do từ chối",
        ];
        let mut rows = vec![Block::Row {
            cells: widths
                .iter()
                .zip(header)
                .map(|(w, t)| (*w, t.to_string()))
                .collect(),
            bold: true,
        }];
        for r in refusals {
            let reason = match r.reason.details.as_str() {
                "" => format!("{} ({})", r.reason.text, r.reason.legal_basis),
                d => format!("{} ({}): {d}", r.reason.text, r.reason.legal_basis),
            };
            let cells = [
                r.refused_at.clone(),
                r.owner_id.clone(),
                format!("{}: {}", r.document_type, r.document_name),
                reason,
            ];
            rows.push(Block::Row {
                cells: widths.iter().copied().zip(cells).collect(),
                bold: false,
            });
        }
        rows
    }

    /// Renders and signs (invisibly, with the agency's key) a printout of `entries`.
    async fn render(
        &self,
        title: &str,
        period: &str,
        entries: &[BookEntry],
        openings: &[BookOpening],
        refusals: &[RefusalEntry],
        closing_lines: Vec<String>,
    ) -> Result<Vec<u8>> {
        let config = &self.agency.config;
        let mut blocks = vec![
            Block::Heading(config.name.clone()),
            Block::Heading(title.to_string()),
            Block::Paragraph(format!(
                "Cơ quan: {} ({}), {}. Ký hiệu sổ: {}. {period}.",
                config.name, config.code, config.location, config.book_code
            )),
            Block::Space(6.0),
        ];
        blocks.extend(self.rows(entries, openings).await?);
        if !refusals.is_empty() {
            blocks.push(Block::Space(8.0));
            blocks.push(Block::Paragraph(
                "Từ chối chứng thực (Điều 22 Nghị định 23/2015/NĐ-CP), theo thời gian:".into(),
            ));
            blocks.extend(Self::refusal_rows(refusals));
        }
        blocks.push(Block::Space(8.0));
        blocks.extend(closing_lines.into_iter().map(Block::Paragraph));
        let doc = TextDocument {
            title: format!("{title} — {} — {period}", config.name),
            author: config.name.clone(),
            id: uuid::Uuid::now_v7().to_string(),
            created: self.now,
            blocks,
        };
        let pdf = text_document(&doc)?;
        Ok(sign_pdf(
            &pdf,
            &SignRequest {
                credential: &self.agency.signer,
                field_name: "Signature_Book".into(),
                page_index: 0,
                rect: [0.0; 4],
                signing_time: self.now,
                signer_name: Some(config.signer.name.clone()),
                reason: Some(format!("{title} {period}")),
                location: Some(config.location.clone()),
            },
        )?)
    }
}

/// Prints `agency`'s book for one month (`YYYY-MM`): the month's numbered entries in number
/// order in the book's layout, signed with the agency's key; the printout is also kept in
/// the store beside the book. The same month printed twice holds the same entries.
pub async fn print_month(
    config: &Config,
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    agency: &str,
    month: &str,
) -> Result<Vec<u8>> {
    let (year, month) = parse_month(month)?;
    let agency = agency_of(config, agency)?;
    let registry = Registry::with_clock(store, Arc::clone(&clock));
    let code = agency.config.code.clone();
    let mut entries: Vec<BookEntry> = registry
        .book_entries(&code, year)
        .await?
        .into_iter()
        .filter(|e| entry_date(e).is_some_and(|d| d.year() == year && d.month() == month))
        .collect();
    entries.sort_by_key(|e| e.number);
    let openings = registry.book_openings(&code, year).await?;
    let refusals: Vec<RefusalEntry> = registry
        .refusals(&code, year)
        .await?
        .into_iter()
        .filter(|r| day_of(&r.refused_at).is_some_and(|d| d.month() == month))
        .collect();
    let issued = entries
        .iter()
        .filter(|e| matches!(e.state, EntryState::Issued { .. }))
        .count();
    let printing = Printing {
        agency: &agency,
        registry: &registry,
        now: clock.now_vietnam(),
    };
    let period = format!("Tháng {:02}/{year}", u8::from(month));
    let pdf = printing
        .render(
            "SỔ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH",
            &period,
            &entries,
            &openings,
            &refusals,
            vec![
                format!(
                    "Số việc trong tháng: {} (cấp bản sao: {issued}; hủy số: {}).",
                    entries.len(),
                    entries.len() - issued
                ),
                format!("Từ chối chứng thực trong tháng: {}.", refusals.len()),
            ],
        )
        .await?;
    registry
        .put_book_printout(
            &code,
            year,
            &format!("{year}-{:02}", u8::from(month)),
            Bytes::from(pdf.clone()),
            false,
        )
        .await?;
    Ok(pdf)
}

/// Closes `agency`'s book of `year` after 31 December: the year's book with its total,
/// signed and kept beside the months, after which no number can be taken in that year.
/// Closing again changes nothing and returns the first closing (and `false`).
pub async fn close_year(
    config: &Config,
    store: Arc<dyn ObjectStore>,
    clock: Arc<dyn Clock>,
    agency: &str,
    year: i32,
) -> Result<(BookClosing, bool)> {
    let agency = agency_of(config, agency)?;
    let code = agency.config.code.clone();
    let registry = Registry::with_clock(store, Arc::clone(&clock));
    if let Some(done) = registry.book_closing(&code, year).await? {
        return Ok((done, false));
    }
    let now = clock.now_vietnam();
    let not_ready = |problem: String| {
        Error::Records(crate::records::RecordsError::BookNotReady {
            agency: code.clone(),
            year,
            problem,
        })
    };
    if now.year() <= year {
        return Err(not_ready(format!(
            "a year's book is closed after 31 December {year}; it is {} now",
            now.date()
        )));
    }
    let mut entries = registry.book_entries(&code, year).await?;
    entries.sort_by_key(|e| e.number);
    let open = entries
        .iter()
        .filter(|e| matches!(e.state, EntryState::Reserved))
        .count();
    if open > 0 {
        return Err(not_ready(format!(
            "{open} number(s) are still reserved (copies awaiting a certifier, or in flight): close when they are issued or voided"
        )));
    }
    let issued = entries
        .iter()
        .filter(|e| matches!(e.state, EntryState::Issued { .. }))
        .count() as u64;
    let total = entries.len() as u64;
    let openings = registry.book_openings(&code, year).await?;
    let refusals = registry.refusals(&code, year).await?;
    let printing = Printing {
        agency: &agency,
        registry: &registry,
        now,
    };
    let pdf = printing
        .render(
            "SỔ CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH — SỔ NĂM",
            &format!("Năm {year}"),
            &entries,
            &openings,
            &refusals,
            vec![format!(
                "Tổng số việc chứng thực trong năm {year}: {total} (cấp bản sao: {issued}; hủy số: {}; từ chối: {}). Sổ được khóa ngày {}.",
                total - issued,
                refusals.len(),
                now.date()
            )],
        )
        .await?;
    let sha256 = sha256_hex(&pdf);
    let printout = registry
        .put_book_printout(&code, year, &year.to_string(), Bytes::from(pdf), true)
        .await?;
    let closing = BookClosing {
        schema_version: records::SCHEMA_VERSION,
        agency_code: code.clone(),
        year,
        total,
        issued,
        void: total - issued,
        printout,
        printout_sha256: sha256,
        closed_at: rfc3339(now),
    };
    Ok(registry.close_book(&closing).await?)
}

/// The agency's figures over a period (for the periodic reporting of the national
/// service-portal indicators).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct BookReport {
    /// The agency.
    pub agency: String,
    /// First day counted (YYYY-MM-DD).
    pub from: String,
    /// Last day counted.
    pub to: String,
    /// Copies issued.
    pub issued: u64,
    /// Of those, revoked since.
    pub revoked: u64,
    /// Numbers voided.
    pub voided: u64,
    /// Requests refused, by reason code.
    pub refused: BTreeMap<String, u64>,
    /// Pages of the originals certified.
    pub pages: u64,
    /// Fees charged for the copies issued (VND).
    pub fees_vnd: u64,
    /// Copies issued by document type.
    pub by_document_type: BTreeMap<String, u64>,
    /// Copies issued by procedure code.
    pub by_procedure_code: BTreeMap<String, u64>,
}

impl BookReport {
    /// The report as CSV: `measure,key,count` rows.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("measure,key,count\n");
        let cell = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        for (m, v) in [
            ("issued", self.issued),
            ("revoked", self.revoked),
            ("voided", self.voided),
            ("pages", self.pages),
            ("fees_vnd", self.fees_vnd),
        ] {
            out.push_str(&format!("{m},,{v}\n"));
        }
        for (m, map) in [
            ("refused", &self.refused),
            ("document_type", &self.by_document_type),
            ("procedure_code", &self.by_procedure_code),
        ] {
            for (k, v) in map {
                out.push_str(&format!("{m},{},{v}\n", cell(k)));
            }
        }
        out
    }
}

/// Parses a `YYYY-MM-DD` date.
pub fn parse_date(text: &str, what: &str) -> Result<Date> {
    Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| Error::InvalidArgument(format!("{what} {text:?}: give a date as YYYY-MM-DD")))
}

/// The figures of `agency`'s books from `from` to `to` (both included), from the book
/// entries and the records.
pub async fn report(
    store: Arc<dyn ObjectStore>,
    agency: &str,
    from: Date,
    to: Date,
) -> Result<BookReport> {
    if from > to {
        return Err(Error::InvalidArgument(format!(
            "--from {from} is after --to {to}"
        )));
    }
    let registry = Registry::new(store);
    let mut r = BookReport {
        agency: agency.to_string(),
        from: from.to_string(),
        to: to.to_string(),
        ..BookReport::default()
    };
    for year in from.year()..=to.year() {
        for e in registry.book_entries(agency, year).await? {
            if !entry_date(&e).is_some_and(|d| d >= from && d <= to) {
                continue;
            }
            match &e.state {
                EntryState::Issued {
                    record_id,
                    document_type,
                    procedure_code,
                    page_count,
                    ..
                } => {
                    r.issued += 1;
                    r.pages += u64::from(*page_count);
                    *r.by_document_type.entry(document_type.clone()).or_default() += 1;
                    *r.by_procedure_code
                        .entry(procedure_code.clone())
                        .or_default() += 1;
                    if let Some(record) = registry.get(record_id).await? {
                        r.fees_vnd += record.fee_vnd.unwrap_or(0);
                        if matches!(record.status, RecordStatus::Revoked { .. }) {
                            r.revoked += 1;
                        }
                    }
                }
                EntryState::Void { .. } => r.voided += 1,
                EntryState::Reserved => {}
            }
        }
        for refusal in registry.refusals(agency, year).await? {
            if day_of(&refusal.refused_at).is_some_and(|d| d >= from && d <= to) {
                *r.refused.entry(refusal.reason.code.clone()).or_default() += 1;
            }
        }
    }
    Ok(r)
}
