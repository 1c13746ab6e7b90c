//! Hexadecimal decoding for PDF hex strings and /Contents gaps, by table lookup.
//!
//! Signature containers are stored as tens of kilobytes of hex digits and every verification
//! reads them twice (as the /Contents string and as the ByteRange gap), so this runs on the
//! verifier's hot path.

/// Marks a byte that is not a hex digit.
const NOT_HEX: u8 = 0xff;
/// Marks PDF whitespace, which hex strings may contain anywhere (ISO 32000-1 §7.3.4.3).
const SPACE: u8 = 0xfe;

/// The value of each byte as a hex digit, or `NOT_HEX` / `SPACE`.
const TABLE: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t[0] = SPACE;
    t[b'\t' as usize] = SPACE;
    t[b'\n' as usize] = SPACE;
    t[0x0c] = SPACE;
    t[b'\r' as usize] = SPACE;
    t[b' ' as usize] = SPACE;
    t
};

/// True when every byte of `h` is a hex digit.
pub fn all_digits(h: &[u8]) -> bool {
    h.iter()
        .fold(0u8, |acc, &c| acc | (TABLE[c as usize] & 0xf0))
        == 0
}

/// Decodes an even number of hex digits with nothing else in between; `None` otherwise.
pub fn decode_strict(h: &[u8]) -> Option<Vec<u8>> {
    if !h.len().is_multiple_of(2) {
        return None;
    }
    let mut out = Vec::with_capacity(h.len() / 2);
    for pair in h.chunks_exact(2) {
        let (hi, lo) = (TABLE[pair[0] as usize], TABLE[pair[1] as usize]);
        if hi > 0x0f || lo > 0x0f {
            return None;
        }
        out.push(hi << 4 | lo);
    }
    Some(out)
}

/// Decodes the body of a PDF hex string (between `<` and `>`): whitespace is skipped and a
/// final odd digit counts as if followed by 0. `None` when a byte is neither.
pub fn decode_pdf(h: &[u8]) -> Option<Vec<u8>> {
    if let Some(v) = decode_strict(h) {
        return Some(v);
    }
    let mut out = Vec::with_capacity(h.len() / 2);
    let mut hi: Option<u8> = None;
    for &c in h {
        match TABLE[c as usize] {
            NOT_HEX => return None,
            SPACE => {}
            v => match hi.take() {
                Some(h) => out.push(h << 4 | v),
                None => hi = Some(v),
            },
        }
    }
    if let Some(h) = hi {
        out.push(h << 4);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_takes_pairs_of_digits_only() {
        assert_eq!(decode_strict(b"00fFa9"), Some(vec![0x00, 0xff, 0xa9]));
        assert_eq!(decode_strict(b""), Some(vec![]));
        assert_eq!(decode_strict(b"abc"), None);
        assert_eq!(decode_strict(b"a b "), None);
        assert_eq!(decode_strict(b"0g"), None);
        assert!(all_digits(b"09afAF"));
        assert!(!all_digits(b"09 a"));
        assert!(!all_digits(b"\xff0"));
    }

    #[test]
    fn pdf_strings_skip_whitespace_and_pad_an_odd_digit() {
        assert_eq!(decode_pdf(b"90 1f\r\na"), Some(vec![0x90, 0x1f, 0xa0]));
        assert_eq!(decode_pdf(b"7"), Some(vec![0x70]));
        assert_eq!(decode_pdf(b"7z"), None);
    }
}
