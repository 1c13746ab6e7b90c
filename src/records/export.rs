//! The certification book as CSV, for the monthly printout.
//!
//! The first eight columns are those of earlier releases, in the same order; `kind`
//! (`copy` for a numbered entry, `refusal`), `fee_vnd`, `revocation` (the note of a
//! revoked copy), `refusal_code` and `refusal_reason` follow. Refusals come after the
//! numbered entries, in time order, with an empty number and state `refused`.

use std::fmt::Write;

use super::BookAnnex;
use super::model::{BookEntry, EntryState};

/// Column names, in order.
pub const BOOK_CSV_HEADER: &str = "number,state,issued_at,owner_id,document,procedure_code,copy_sha256,void_reason,kind,fee_vnd,revocation,refusal_code,refusal_reason";

/// Appends the book as CSV (RFC 4180: a header line, fields quoted when needed, CRLF line
/// ends) to `out`. Reserved numbers still in progress show state `reserved`.
pub fn write_book_csv(entries: &[BookEntry], out: &mut String) {
    write_book_csv_with(entries, &BookAnnex::default(), out);
}

/// [`write_book_csv`] with the fees, revocation notes and refusals of `annex`
/// (see [`crate::records::Registry::book_annex`]).
pub fn write_book_csv_with(entries: &[BookEntry], annex: &BookAnnex, out: &mut String) {
    out.push_str(BOOK_CSV_HEADER);
    out.push_str("\r\n");
    for entry in entries {
        let number = entry.number.to_string();
        let fee = annex
            .fees
            .get(&entry.number)
            .map(u64::to_string)
            .unwrap_or_default();
        let revocation = annex
            .revocations
            .get(&entry.number)
            .map(|n| n.summary())
            .unwrap_or_default();
        let row: [&str; 8] = match &entry.state {
            EntryState::Reserved => [&number, "reserved", "", "", "", "", "", ""],
            EntryState::Issued {
                issued_at,
                owner_id,
                document_name,
                procedure_code,
                copy_sha256,
                ..
            } => [
                &number,
                "issued",
                issued_at,
                owner_id,
                document_name,
                procedure_code,
                copy_sha256,
                "",
            ],
            EntryState::Void { reason, .. } => [&number, "void", "", "", "", "", "", reason],
        };
        let tail: [&str; 5] = ["copy", &fee, &revocation, "", ""];
        push_row(out, row.iter().chain(tail.iter()));
    }
    for r in &annex.refusals {
        let reason = format!(
            "{} ({}){}",
            r.reason.text,
            r.reason.legal_basis,
            if r.reason.details.is_empty() {
                String::new()
            } else {
                format!(" — {}", r.reason.details)
            }
        );
        let voided = r
            .reason
            .voided_number
            .map(|n| format!("number {n} voided"))
            .unwrap_or_default();
        let row: [&str; 13] = [
            "",
            "refused",
            &r.refused_at,
            &r.owner_id,
            &r.document_name,
            &r.procedure_code,
            &r.notice_sha256,
            &voided,
            "refusal",
            "",
            "",
            &r.reason.code,
            &reason,
        ];
        push_row(out, row.iter());
    }
}

fn push_row<'a>(out: &mut String, fields: impl Iterator<Item = &'a &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, field);
    }
    out.push_str("\r\n");
}

fn push_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        let _ = write!(out, "\"{}\"", field.replace('"', "\"\""));
    } else {
        out.push_str(field);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::SCHEMA_VERSION;

    fn entry(number: u64, state: EntryState) -> BookEntry {
        BookEntry {
            schema_version: SCHEMA_VERSION,
            agency_code: "H56.01".into(),
            year: 2026,
            book: "01".into(),
            number,
            reserved_at: "2026-01-05T14:30:00+07:00".into(),
            reserved_by: "x".into(),
            state,
        }
    }

    #[test]
    fn rows_are_quoted_when_needed() {
        let entries = [
            entry(
                1,
                EntryState::Issued {
                    record_id: "r1".into(),
                    issued_at: "2026-01-05T14:30:00+07:00".into(),
                    owner_id: "001203004567".into(),
                    document_type: "Giấy khai sinh".into(),
                    document_name: "Giấy khai sinh, \"bản chính\"".into(),
                    procedure_code: "2.000815".into(),
                    page_count: 1,
                    copy_sha256: "ab".into(),
                },
            ),
            entry(
                2,
                EntryState::Void {
                    reason: "signing failed".into(),
                    at: "2026-01-05T14:31:00+07:00".into(),
                },
            ),
            entry(3, EntryState::Reserved),
        ];
        let mut out = String::new();
        write_book_csv(&entries, &mut out);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0], BOOK_CSV_HEADER);
        assert_eq!(
            lines[1],
            "1,issued,2026-01-05T14:30:00+07:00,001203004567,\"Giấy khai sinh, \"\"bản chính\"\"\",2.000815,ab,,copy,,,,"
        );
        assert_eq!(lines[2], "2,void,,,,,,signing failed,copy,,,,");
        assert_eq!(lines[3], "3,reserved,,,,,,,copy,,,,");
        assert_eq!(lines[4], "");
    }
}
