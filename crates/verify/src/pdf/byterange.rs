//! /ByteRange sanity: two ranges from offset 0 whose gap is exactly the /Contents hex string,
//! ending at the end of a revision; plus the signed revision's extent.

use thiserror::Error;

use crate::pdf::xref_reader::Source;

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

    /// The two signed ranges as (offset, length).
    pub fn ranges(&self) -> [(u64, u64); 2] {
        [
            (0, self.first_len as u64),
            (self.second_start as u64, self.second_len as u64),
        ]
    }

    /// The decoded hex of the gap (the signature container as stored, padding included).
    pub fn gap_contents(&self, src: &dyn Source) -> Option<Vec<u8>> {
        let n = (self.second_start - 1).checked_sub(self.first_len + 1)?;
        let gap = src.bytes(self.first_len as u64 + 1, n)?;
        if gap.len() != n {
            return None;
        }
        decode_hex(&gap)
    }

    /// True when the signed bytes reach the end of the file (trailing whitespace tolerated).
    pub fn covers_whole_file(&self, src: &dyn Source) -> bool {
        let len = src.len();
        let end = self.end() as u64;
        if end > len {
            return false;
        }
        let mut at = end;
        while at < len {
            let n = (len - at).min(1 << 20) as usize;
            let ok = src.bytes(at, n).is_some_and(|rest| {
                rest.len() == n
                    && rest
                        .iter()
                        .all(|b| matches!(b, b' ' | b'\r' | b'\n' | b'\t' | 0))
            });
            if !ok {
                return false;
            }
            at += n as u64;
        }
        true
    }

    /// True when the signed bytes end right after a `%%EOF` marker (plus at most one EOL).
    pub fn ends_at_revision(&self, src: &dyn Source) -> bool {
        let end = self.end() as u64;
        let from = end.saturating_sub(7);
        let Some(signed) = src.bytes(from, (end - from) as usize) else {
            return false;
        };
        let signed: &[u8] = &signed;
        let trimmed = signed
            .strip_suffix(b"\r\n")
            .or_else(|| signed.strip_suffix(b"\n"))
            .or_else(|| signed.strip_suffix(b"\r"))
            .unwrap_or(signed);
        trimmed.ends_with(b"%%EOF")
    }
}

/// Largest /Contents gap read (hex digits).
const MAX_GAP: usize = 64 * 1024 * 1024;

/// Checks the /ByteRange values `v` against the file `src`.
pub fn check(v: &[i64], src: &dyn Source) -> Result<ByteRange, ByteRangeError> {
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
    if end as u64 > src.len() {
        return Err(ByteRangeError::OutOfFile {
            end: end as u64,
            len: src.len(),
        });
    }
    if c - b > MAX_GAP {
        return Err(ByteRangeError::GapNotContents);
    }
    let gap = src
        .bytes(b as u64, c - b)
        .filter(|g| g.len() == c - b)
        .ok_or(ByteRangeError::GapNotContents)?;
    let inner = gap
        .strip_prefix(b"<")
        .and_then(|g| g.strip_suffix(b">"))
        .ok_or(ByteRangeError::GapNotContents)?;
    if !crate::pdf::hexdigits::all_digits(inner) || inner.len() % 2 != 0 {
        return Err(ByteRangeError::GapNotContents);
    }
    Ok(ByteRange {
        first_len: b,
        second_start: c,
        second_len: d,
    })
}

fn decode_hex(h: &[u8]) -> Option<Vec<u8>> {
    crate::pdf::hexdigits::decode_strict(h)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdf::xref_reader::Mem;

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
        let br = check(&[0, s, e, pdf.len() as i64 - e], &Mem(&pdf)).unwrap();
        assert!(br.covers_whole_file(&Mem(&pdf)));
        assert!(br.ends_at_revision(&Mem(&pdf)));
        assert_eq!(br.gap_contents(&Mem(&pdf)), Some(vec![0x0a, 0x0b, 0x00]));
        let [r1, r2] = br.ranges();
        assert_eq!(r1.1 + r2.1 + (e - s) as u64, pdf.len() as u64);
    }

    #[test]
    fn rejects_bad_shapes() {
        let pdf = sample();
        let (s, e) = gap_of(&pdf);
        let rest = pdf.len() as i64 - e;
        assert_eq!(check(&[0, s, e], &Mem(&pdf)), Err(ByteRangeError::Shape));
        assert_eq!(
            check(&[0, s, e, rest, 1], &Mem(&pdf)),
            Err(ByteRangeError::Shape)
        );
        assert_eq!(
            check(&[1, s, e, rest], &Mem(&pdf)),
            Err(ByteRangeError::NotFromStart)
        );
        assert_eq!(
            check(&[0, -1, e, rest], &Mem(&pdf)),
            Err(ByteRangeError::Shape)
        );
        assert_eq!(
            check(&[0, e, s, rest], &Mem(&pdf)),
            Err(ByteRangeError::Order)
        );
        assert!(matches!(
            check(&[0, s, e, rest + 1], &Mem(&pdf)),
            Err(ByteRangeError::OutOfFile { .. })
        ));
        assert!(check(&[0, s, e, i64::MAX], &Mem(&pdf)).is_err());
        // Gap one byte too short or too long: no longer exactly the hex string.
        assert_eq!(
            check(&[0, s + 1, e, rest], &Mem(&pdf)),
            Err(ByteRangeError::GapNotContents)
        );
        assert_eq!(
            check(&[0, s - 1, e, rest], &Mem(&pdf)),
            Err(ByteRangeError::GapNotContents)
        );
        assert_eq!(
            check(&[0, s, e + 1, rest - 1], &Mem(&pdf)),
            Err(ByteRangeError::GapNotContents)
        );
    }

    #[test]
    fn partial_coverage_is_detected() {
        let mut pdf = sample();
        let (s, e) = gap_of(&pdf);
        let rest = pdf.len() as i64 - e;
        pdf.extend_from_slice(b"2 0 obj null endobj\n%%EOF\n");
        let br = check(&[0, s, e, rest], &Mem(&pdf)).unwrap();
        assert!(!br.covers_whole_file(&Mem(&pdf)));
        assert!(br.ends_at_revision(&Mem(&pdf)));
        let br = check(&[0, s, e, rest - 3], &Mem(&pdf)).unwrap();
        assert!(!br.ends_at_revision(&Mem(&pdf)));
    }
}
