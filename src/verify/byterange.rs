//! /ByteRange sanity: two ranges from offset 0 whose gap is exactly the /Contents hex string,
//! ending at the end of a revision; plus the signed revision's extent.

use thiserror::Error;

/// Why a /ByteRange is rejected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ByteRangeError {
    /// Not an array of four non-negative integers.
    #[error("/ByteRange is not four non-negative integers")]
    Shape,
    /// The first range does not start at offset 0.
    #[error("/ByteRange does not start at 0")]
    NotFromStart,
    /// The ranges overlap, are empty or are out of order.
    #[error("/ByteRange ranges overlap or are out of order")]
    Order,
    /// A range extends beyond the end of the file.
    #[error("/ByteRange extends beyond the end of the file ({end} > {len})")]
    OutOfFile {
        /// End of the second range.
        end: u64,
        /// File length.
        len: u64,
    },
    /// The excluded gap is not exactly `<hex digits>`.
    #[error("the gap between the ranges is not exactly the /Contents hex string")]
    GapNotContents,
}

/// A checked byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// Length of the first range (which starts at 0).
    pub first_len: usize,
    /// Start of the second range.
    pub second_start: usize,
    /// Length of the second range.
    pub second_len: usize,
}

impl ByteRange {
    /// End of the signed bytes (exclusive).
    pub fn end(&self) -> usize {
        self.second_start + self.second_len
    }

    /// The two signed slices of `pdf` (which the constructor checked to be in bounds).
    pub fn slices<'a>(&self, pdf: &'a [u8]) -> (&'a [u8], &'a [u8]) {
        (
            pdf.get(..self.first_len).unwrap_or_default(),
            pdf.get(self.second_start..self.end()).unwrap_or_default(),
        )
    }

    /// The decoded hex of the gap (the signature container as stored, padding included).
    pub fn gap_contents(&self, pdf: &[u8]) -> Option<Vec<u8>> {
        let gap = pdf.get(self.first_len + 1..self.second_start - 1)?;
        decode_hex(gap)
    }

    /// True when the signed bytes reach the end of the file (trailing whitespace tolerated).
    pub fn covers_whole_file(&self, pdf: &[u8]) -> bool {
        pdf.get(self.end()..).is_some_and(|rest| {
            rest.iter()
                .all(|b| matches!(b, b' ' | b'\r' | b'\n' | b'\t' | 0))
        })
    }

    /// True when the signed bytes end right after a `%%EOF` marker (plus at most one EOL).
    pub fn ends_at_revision(&self, pdf: &[u8]) -> bool {
        let Some(signed) = pdf.get(..self.end()) else {
            return false;
        };
        let trimmed = signed
            .strip_suffix(b"\r\n")
            .or_else(|| signed.strip_suffix(b"\n"))
            .or_else(|| signed.strip_suffix(b"\r"))
            .unwrap_or(signed);
        trimmed.ends_with(b"%%EOF")
    }
}

/// Checks the /ByteRange values `v` against the file `pdf`.
pub fn check(v: &[i64], pdf: &[u8]) -> Result<ByteRange, ByteRangeError> {
    let [a, b, c, d] = v else {
        return Err(ByteRangeError::Shape);
    };
    let to_usize = |x: &i64| usize::try_from(*x).map_err(|_| ByteRangeError::Shape);
    let (a, b, c, d) = (to_usize(a)?, to_usize(b)?, to_usize(c)?, to_usize(d)?);
    if a != 0 {
        return Err(ByteRangeError::NotFromStart);
    }
    // The gap holds at least "<>" and both ranges are non-empty.
    if b == 0 || d == 0 || c < b.saturating_add(2) {
        return Err(ByteRangeError::Order);
    }
    let end = c.checked_add(d).ok_or(ByteRangeError::Shape)?;
    if end > pdf.len() {
        return Err(ByteRangeError::OutOfFile {
            end: end as u64,
            len: pdf.len() as u64,
        });
    }
    let gap = pdf.get(b..c).ok_or(ByteRangeError::GapNotContents)?;
    let inner = gap
        .strip_prefix(b"<")
        .and_then(|g| g.strip_suffix(b">"))
        .ok_or(ByteRangeError::GapNotContents)?;
    if !inner.iter().all(u8::is_ascii_hexdigit) || inner.len() % 2 != 0 {
        return Err(ByteRangeError::GapNotContents);
    }
    Ok(ByteRange {
        first_len: b,
        second_start: c,
        second_len: d,
    })
}

fn decode_hex(h: &[u8]) -> Option<Vec<u8>> {
    hex::decode(h).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        b"%PDF-1.7\n1 0 obj<</Contents <0a0b00> /ByteRange [...]>>endobj\n%%EOF\n".to_vec()
    }

    fn gap_of(pdf: &[u8]) -> (i64, i64) {
        let s = pdf.windows(8).position(|w| w == b"<0a0b00>").unwrap_or(0);
        (s as i64, s as i64 + 8)
    }

    #[test]
    fn accepts_a_proper_range() {
        let pdf = sample();
        let (s, e) = gap_of(&pdf);
        let br = check(&[0, s, e, pdf.len() as i64 - e], &pdf).unwrap();
        assert!(br.covers_whole_file(&pdf));
        assert!(br.ends_at_revision(&pdf));
        assert_eq!(br.gap_contents(&pdf), Some(vec![0x0a, 0x0b, 0x00]));
        let (r1, r2) = br.slices(&pdf);
        assert_eq!(r1.len() + r2.len() + (e - s) as usize, pdf.len());
    }

    #[test]
    fn rejects_bad_shapes() {
        let pdf = sample();
        let (s, e) = gap_of(&pdf);
        let rest = pdf.len() as i64 - e;
        assert_eq!(check(&[0, s, e], &pdf), Err(ByteRangeError::Shape));
        assert_eq!(check(&[0, s, e, rest, 1], &pdf), Err(ByteRangeError::Shape));
        assert_eq!(
            check(&[1, s, e, rest], &pdf),
            Err(ByteRangeError::NotFromStart)
        );
        assert_eq!(check(&[0, -1, e, rest], &pdf), Err(ByteRangeError::Shape));
        assert_eq!(check(&[0, e, s, rest], &pdf), Err(ByteRangeError::Order));
        assert!(matches!(
            check(&[0, s, e, rest + 1], &pdf),
            Err(ByteRangeError::OutOfFile { .. })
        ));
        assert!(check(&[0, s, e, i64::MAX], &pdf).is_err());
        // Gap one byte too short or too long: no longer exactly the hex string.
        assert_eq!(
            check(&[0, s + 1, e, rest], &pdf),
            Err(ByteRangeError::GapNotContents)
        );
        assert_eq!(
            check(&[0, s - 1, e, rest], &pdf),
            Err(ByteRangeError::GapNotContents)
        );
        assert_eq!(
            check(&[0, s, e + 1, rest - 1], &pdf),
            Err(ByteRangeError::GapNotContents)
        );
    }

    #[test]
    fn partial_coverage_is_detected() {
        let mut pdf = sample();
        let (s, e) = gap_of(&pdf);
        let rest = pdf.len() as i64 - e;
        pdf.extend_from_slice(b"2 0 obj null endobj\n%%EOF\n");
        let br = check(&[0, s, e, rest], &pdf).unwrap();
        assert!(!br.covers_whole_file(&pdf));
        assert!(br.ends_at_revision(&pdf));
        let br = check(&[0, s, e, rest - 3], &pdf).unwrap();
        assert!(!br.ends_at_revision(&pdf));
    }
}
