//! Hashes and the time formats saoy prints and signs.

use time::OffsetDateTime;

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// RFC 3339 / ISO 8601 with the offset, e.g. `2026-11-24T09:15:30+07:00`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
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
