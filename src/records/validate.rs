//! Checks of caller-supplied identifiers; messages say what to fix.

use super::RecordsError;

fn invalid(message: String) -> RecordsError {
    RecordsError::InvalidInput(message)
}

/// Owner's personal identification number (số định danh cá nhân): exactly 12 ASCII digits.
pub fn validate_owner_id(owner_id: &str) -> Result<(), RecordsError> {
    if owner_id.len() == 12 && owner_id.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(());
    }
    Err(invalid(format!(
        "owner_id {owner_id:?} must be the owner's 12-digit personal identification number \
         (số định danh cá nhân), digits only, e.g. 001203004567; 9-digit CMND numbers are not accepted"
    )))
}

/// Administrative procedure code (mã TTHC): `1.` or `2.` followed by 6 digits, e.g. `2.000815`.
pub fn validate_procedure_code(code: &str) -> Result<(), RecordsError> {
    let bytes = code.as_bytes();
    let ok = bytes.len() == 8
        && matches!(bytes[0], b'1' | b'2')
        && bytes[1] == b'.'
        && bytes[2..].iter().all(u8::is_ascii_digit);
    if ok {
        return Ok(());
    }
    Err(invalid(format!(
        "procedure_code {code:?} must be a national procedure code (mã TTHC) like 2.000815: \
         1 or 2, a dot, then 6 digits, without the local suffix"
    )))
}

/// Client request id (idempotency key): 1 to 128 printable ASCII characters.
pub fn validate_client_request_id(id: &str) -> Result<(), RecordsError> {
    if id.is_empty() {
        return Err(invalid(
            "client_request_id is empty: send a unique id per copy (e.g. a UUID) so retries \
             return the same copy"
                .into(),
        ));
    }
    if id.len() > 128 {
        return Err(invalid(format!(
            "client_request_id is {} characters long; use at most 128",
            id.len()
        )));
    }
    if let Some(c) = id.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(invalid(format!(
            "client_request_id contains {c:?}; use printable ASCII only (space to ~)"
        )));
    }
    Ok(())
}

/// Agency e-identifier: 1 to 35 of `A–Z 0–9 .`, not starting or ending with `.` and
/// without `..` (QĐ 20/2020 dot-separated groups), e.g. `H56.01`.
pub fn validate_agency_code(code: &str) -> Result<(), RecordsError> {
    let ok = (1..=35).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.')
        && code.split('.').all(|group| !group.is_empty());
    if ok {
        return Ok(());
    }
    Err(invalid(format!(
        "agency code {code:?} must be the agency's e-identifier: up to 35 characters A-Z, 0-9 \
         in dot-separated groups, e.g. H56.01"
    )))
}

/// Copy id as used in keys: 1 to 64 of `a–z A–Z 0–9 -` (UUIDs fit).
pub fn validate_record_id(id: &str) -> Result<(), RecordsError> {
    let ok =
        (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        return Ok(());
    }
    Err(invalid(format!(
        "copy id {id:?} is not a valid id: up to 64 letters, digits and dashes (a UUID)"
    )))
}

/// A SHA-256 given in hex (either case) → lowercase hex, refusing anything else.
pub fn normalize_sha256(hex: &str) -> Result<String, RecordsError> {
    let hex = hex.trim();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(hex.to_ascii_lowercase());
    }
    Err(invalid(format!(
        "sha256 {hex:?} must be the 64 hex digits of a SHA-256 digest of the whole file"
    )))
}

/// A page token of `ListRecords`: what the previous page returned (letters, digits, `-`).
pub fn validate_page_token(token: &str) -> Result<(), RecordsError> {
    let ok = token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        return Ok(());
    }
    Err(invalid(
        "page_token is not one this service returned: send back next_page_token unchanged, \
         or nothing for the first page"
            .into(),
    ))
}

/// Book year: 1000 to 9999.
pub fn validate_year(year: i32) -> Result<(), RecordsError> {
    if (1000..=9999).contains(&year) {
        return Ok(());
    }
    Err(invalid(format!("year {year} must have four digits")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_ids() {
        assert!(validate_owner_id("001203004567").is_ok());
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "00120300456a",
            "００１２０３００４５６７",
            " 01203004567",
        ] {
            let err = validate_owner_id(bad).unwrap_err();
            assert!(err.is_invalid_input());
            assert!(err.to_string().contains("12-digit"), "{err}");
        }
    }

    #[test]
    fn procedure_codes() {
        for ok in ["2.000815", "1.001193"] {
            assert!(validate_procedure_code(ok).is_ok());
        }
        for bad in [
            "3.000815",
            "2.00081",
            "2.0008155",
            "2000815",
            "2.000815.000.00.00.H55",
            "2,000815",
            "",
        ] {
            let err = validate_procedure_code(bad).unwrap_err();
            assert!(err.to_string().contains("2.000815"), "{err}");
        }
    }

    #[test]
    fn client_request_ids() {
        assert!(validate_client_request_id("a").is_ok());
        assert!(validate_client_request_id("retry #1 ~ ok").is_ok());
        assert!(validate_client_request_id(&"x".repeat(128)).is_ok());
        assert!(validate_client_request_id("").is_err());
        assert!(validate_client_request_id(&"x".repeat(129)).is_err());
        assert!(validate_client_request_id("tab\there").is_err());
        assert!(validate_client_request_id("số").is_err());
    }

    #[test]
    fn agency_codes_and_ids() {
        for ok in ["H56", "H56.01", "000.00.00.H56", "G15"] {
            assert!(validate_agency_code(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "h56",
            "H56/01",
            ".H56",
            "H56.",
            "H56..01",
            &"A".repeat(36),
        ] {
            assert!(validate_agency_code(bad).is_err(), "{bad}");
        }
        assert!(validate_record_id("0190e1c2-7a3b-7c4d-8e5f-000000000000").is_ok());
        for bad in ["", "../x", "a/b", "a.json", &"a".repeat(65)] {
            assert!(validate_record_id(bad).is_err(), "{bad}");
        }
        assert!(validate_year(2026).is_ok());
        assert!(validate_year(0).is_err());
    }
}
