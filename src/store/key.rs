//! Key rules shared by all backends, so a key valid here is valid on S3 and on a local
//! filesystem alike.

use super::StoreError;

/// Longest key accepted, in bytes (the S3 limit).
pub const MAX_KEY_LEN: usize = 1024;
/// Longest segment between slashes (a common filesystem name limit).
pub const MAX_SEGMENT_LEN: usize = 255;

/// Checks a full key: `/`-separated non-empty segments of `A–Z a–z 0–9 . _ -`, no segment
/// starting with `.` (so no `.`/`..` and no clash with backend temp files), no leading or
/// trailing `/`, at most `MAX_KEY_LEN` (1024) bytes.
pub fn validate_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::invalid_key(key, "the key is empty"));
    }
    check_length(key)?;
    for segment in key.split('/') {
        check_segment(key, segment)?;
    }
    Ok(())
}

/// Checks a list prefix: empty, or like a key but it may end with `/` or inside a segment.
pub fn validate_prefix(prefix: &str) -> Result<(), StoreError> {
    check_length(prefix)?;
    let Some((dirs, last)) = prefix.rsplit_once('/') else {
        return check_partial(prefix, prefix);
    };
    for segment in dirs.split('/') {
        check_segment(prefix, segment)?;
    }
    check_partial(prefix, last)
}

fn check_length(key: &str) -> Result<(), StoreError> {
    if key.len() > MAX_KEY_LEN {
        return Err(StoreError::invalid_key(
            key,
            format!("longer than {MAX_KEY_LEN} bytes"),
        ));
    }
    Ok(())
}

fn check_segment(key: &str, segment: &str) -> Result<(), StoreError> {
    if segment.is_empty() {
        return Err(StoreError::invalid_key(
            key,
            "empty segment (leading, trailing or double `/`)",
        ));
    }
    check_partial(key, segment)
}

fn check_partial(key: &str, segment: &str) -> Result<(), StoreError> {
    if segment.starts_with('.') {
        return Err(StoreError::invalid_key(
            key,
            "a segment starts with `.` (this also rules out `.` and `..`)",
        ));
    }
    if segment.len() > MAX_SEGMENT_LEN {
        return Err(StoreError::invalid_key(
            key,
            format!("a segment is longer than {MAX_SEGMENT_LEN} bytes"),
        ));
    }
    if let Some(bad) = segment
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(StoreError::invalid_key(
            key,
            format!(
                "character {bad:?} is not allowed; use A-Z a-z 0-9 . _ - and / between segments"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_layout_keys() {
        for key in [
            "records/0190ab-cd.json",
            "books/H56.01/2026/00000001.json",
            "copies/x/original-0",
            "a",
        ] {
            assert!(validate_key(key).is_ok(), "{key}");
        }
    }

    #[test]
    fn rejects_bad_keys() {
        for key in [
            "", "/abs", "a/../b", "..", "a//b", "a/", "a/./b", ".hidden", "a\\b", "a b", "sổ",
            "a\0b", "C:x",
        ] {
            assert!(
                matches!(validate_key(key), Err(StoreError::InvalidKey { .. })),
                "{key:?}"
            );
        }
        assert!(validate_key(&"a".repeat(MAX_KEY_LEN + 1)).is_err());
        assert!(validate_key(&"a".repeat(MAX_SEGMENT_LEN + 1)).is_err());
    }

    #[test]
    fn prefixes() {
        for p in ["", "books/", "books/H56/20", "owners/0123"] {
            assert!(validate_prefix(p).is_ok(), "{p}");
        }
        for p in ["/", "a//", "../", "a/..", "a/.x"] {
            assert!(validate_prefix(p).is_err(), "{p}");
        }
    }
}
