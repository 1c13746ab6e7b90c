//! The texts saoy prints on a copy: the certification reference and the date line. (Times
//! as RFC 3339: [`crate::clock::rfc3339`]; hashes: [`crate::hash::sha256_hex`].)

use time::OffsetDateTime;

/// The certification reference without its label, e.g. `12, quyển số 01/2026-SCT/BS`:
/// number, book, year and the agency's book code.
pub fn certification_reference(number: u64, book: &str, year: i32, book_code: &str) -> String {
    format!("{number}, quyển số {book}/{year}-{book_code}")
}

/// "Ngày 24 tháng 11 năm 2026".
pub fn vietnamese_date(t: OffsetDateTime) -> String {
    format!(
        "Ngày {:02} tháng {:02} năm {}",
        t.day(),
        u8::from(t.month()),
        t.year()
    )
}
