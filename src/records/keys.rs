//! Object keys of the layout described in the module docs, and JSON/time helpers.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::{format_description, offset};

use super::{RecordsError, SCHEMA_VERSION};

/// `copies/{id}/copy.pdf`
pub fn copy(id: &str) -> String {
    format!("copies/{id}/copy.pdf")
}

/// `copies/{id}/original-{index}` (index from 0, in upload order)
pub fn original(id: &str, index: usize) -> String {
    format!("copies/{id}/original-{index}")
}

/// `records/{id}.json`
pub fn record(id: &str) -> String {
    format!("records/{id}.json")
}

/// `books/{agency}/{year}/`
pub fn book_prefix(agency: &str, year: i32) -> String {
    format!("books/{agency}/{year}/")
}

/// `books/{agency}/{year}/{number:08}.json`
pub fn book_entry(agency: &str, year: i32, number: u64) -> String {
    format!("books/{agency}/{year}/{number:08}.json")
}

/// `books/{agency}/{year}/opened/{book}.json`: the opening of book `book` in that year.
pub fn book_opening(agency: &str, year: i32, book: u32) -> String {
    format!("books/{agency}/{year}/opened/{book:02}.json")
}

/// `books/{agency}/{year}/opened/`
pub fn book_openings(agency: &str, year: i32) -> String {
    format!("books/{agency}/{year}/opened/")
}

/// `books/{agency}/{year}/closed.json`: the year's book closed, with its total.
pub fn book_closed(agency: &str, year: i32) -> String {
    format!("books/{agency}/{year}/closed.json")
}

/// `books/{agency}/{year}/printed/{name}.pdf`: a signed printout (a month, the year).
pub fn book_printout(agency: &str, year: i32, name: &str) -> String {
    format!("books/{agency}/{year}/printed/{name}.pdf")
}

/// True for `books/{agency}/{year}/{number:08}.json` (an entry), false for openings,
/// closings and printouts.
pub fn is_book_entry(key: &str) -> bool {
    let parts: Vec<&str> = key.split('/').collect();
    match parts.as_slice() {
        ["books", agency, year, _] => {
            book_number(&format!("books/{agency}/{year}/"), key).is_some()
        }
        _ => false,
    }
}

/// Parses the number out of a book entry key; `None` for anything else.
pub fn book_number(prefix: &str, key: &str) -> Option<u64> {
    let name = key.strip_prefix(prefix)?.strip_suffix(".json")?;
    if name.len() != 8 || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// `requests/{agency}/{sha256(client_request_id)}.json`
pub fn request(agency: &str, client_request_id: &str) -> String {
    let digest = crate::hash::sha256_hex(client_request_id.as_bytes());
    format!("requests/{agency}/{digest}.json")
}

/// `hashes/{sha256}.json`: index from the SHA-256 of a signed copy to its record.
pub fn hash(sha256: &str) -> String {
    format!("hashes/{sha256}.json")
}

/// `owners/{owner_id}/`
pub fn owner_prefix(owner_id: &str) -> String {
    format!("owners/{owner_id}/")
}

/// `owners/{owner_id}/{issued}-{id}` where `issued` is `issued_at` in UTC as
/// `YYYYMMDDTHHMMSSZ` (keys allow no `:` or `+`; sorting by key sorts by issue time).
pub fn owner_entry(owner_id: &str, issued_at: &str, id: &str) -> Result<String, RecordsError> {
    let at = OffsetDateTime::parse(issued_at, &Rfc3339).map_err(|e| {
        RecordsError::Mismatch(format!("issued_at {issued_at:?} is not RFC 3339: {e}"))
    })?;
    let compact = at
        .to_offset(offset!(UTC))
        .format(format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .map_err(|e| RecordsError::Mismatch(format!("issued_at {issued_at:?}: {e}")))?;
    Ok(format!("owners/{owner_id}/{compact}-{id}"))
}

/// Serialises a stored document.
pub fn encode<T: Serialize>(key: &str, value: &T) -> Result<Bytes, RecordsError> {
    serde_json::to_vec_pretty(value)
        .map(Bytes::from)
        .map_err(|e| RecordsError::Corrupt {
            key: key.to_string(),
            reason: format!("cannot encode: {e}"),
        })
}

/// Parses a stored document, refusing schema versions this code does not know.
pub fn decode<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, RecordsError> {
    #[derive(serde::Deserialize)]
    struct Probe {
        schema_version: u32,
    }
    let corrupt = |reason: String| RecordsError::Corrupt {
        key: key.to_string(),
        reason,
    };
    let probe: Probe = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
    if probe.schema_version != SCHEMA_VERSION {
        return Err(corrupt(format!(
            "schema_version {} is not supported (this build reads {SCHEMA_VERSION})",
            probe.schema_version
        )));
    }
    serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::validate_key;

    #[test]
    fn keys_follow_the_layout_and_are_valid() {
        let id = "0190e1c2-7a3b-7c4d-8e5f-000000000000";
        let keys = [
            copy(id),
            original(id, 0),
            record(id),
            book_entry("H56.01", 2026, 7),
            request("H56.01", "any id / with spaces"),
            owner_entry("001203004567", "2026-01-05T14:30:00+07:00", id).unwrap(),
        ];
        for key in &keys {
            validate_key(key).unwrap();
        }
        assert_eq!(keys[3], "books/H56.01/2026/00000007.json");
        assert_eq!(
            keys[5],
            format!("owners/001203004567/20260105T073000Z-{id}")
        );
        assert_eq!(book_number(&book_prefix("H56.01", 2026), &keys[3]), Some(7));
        assert_eq!(
            book_number("books/H56.01/2026/", "books/H56.01/2026/x.json"),
            None
        );
    }

    #[test]
    fn decode_refuses_unknown_schema() {
        #[derive(serde::Deserialize, Debug)]
        struct Doc {
            #[allow(dead_code)]
            schema_version: u32,
        }
        assert!(decode::<Doc>("k", br#"{"schema_version":1}"#).is_ok());
        assert!(matches!(
            decode::<Doc>("k", br#"{"schema_version":2}"#),
            Err(RecordsError::Corrupt { .. })
        ));
        assert!(decode::<Doc>("k", b"not json").is_err());
    }
}
