//! A small, bounded BER/DER reader: enough to walk CMS, time-stamp tokens and certificates
//! as a stranger would, accepting indefinite lengths and constructed strings, never panicking.

use thiserror::Error;

/// Deepest nesting accepted (real CMS structures stay below 20).
const MAX_DEPTH: usize = 48;

/// Errors from reading ASN.1.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum Asn1Error {
    /// The input ended inside a tag, length or value.
    #[error("truncated ASN.1 data")]
    Truncated,
    /// A length form that is not allowed or too large.
    #[error("invalid ASN.1 length")]
    BadLength,
    /// Nesting deeper than the limit.
    #[error("ASN.1 nesting too deep")]
    TooDeep,
    /// An element did not have the expected type.
    #[error("unexpected ASN.1 element: {0}")]
    Unexpected(&'static str),
}

/// Tag classes.
pub const UNIVERSAL: u8 = 0;
/// Context-specific class.
pub const CONTEXT: u8 = 2;

/// Universal tag numbers used here.
pub mod tag {
    /// INTEGER
    pub const INTEGER: u32 = 2;
    /// BIT STRING
    pub const BIT_STRING: u32 = 3;
    /// OCTET STRING
    pub const OCTET_STRING: u32 = 4;
    /// OBJECT IDENTIFIER
    pub const OID: u32 = 6;
    /// SEQUENCE
    pub const SEQUENCE: u32 = 16;
    /// SET
    pub const SET: u32 = 17;
    /// UTCTime
    pub const UTC_TIME: u32 = 23;
    /// GeneralizedTime
    pub const GENERALIZED_TIME: u32 = 24;
}

/// One decoded element (tag, length, value) borrowing from the input.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    /// Tag class (0 universal, 1 application, 2 context, 3 private).
    pub class: u8,
    /// Constructed encoding.
    pub constructed: bool,
    /// Tag number.
    pub number: u32,
    /// The content octets (for indefinite lengths: without the end-of-contents marker).
    pub value: &'a [u8],
    /// The whole element as encoded, header and end-of-contents included.
    pub raw: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// True for a universal tag with this number.
    pub fn is(&self, number: u32) -> bool {
        self.class == UNIVERSAL && self.number == number
    }

    /// True for a context-specific tag `[number]`.
    pub fn is_context(&self, number: u32) -> bool {
        self.class == CONTEXT && self.number == number
    }

    /// The children of a constructed element.
    pub fn children(&self) -> Result<Vec<Tlv<'a>>, Asn1Error> {
        if !self.constructed {
            return Err(Asn1Error::Unexpected(
                "primitive element where constructed expected",
            ));
        }
        parse_all(self.value, 1)
    }

    /// Children, requiring a universal SEQUENCE.
    pub fn seq(&self) -> Result<Vec<Tlv<'a>>, Asn1Error> {
        if !self.is(tag::SEQUENCE) {
            return Err(Asn1Error::Unexpected("expected SEQUENCE"));
        }
        self.children()
    }

    /// Content of a string type, joining the segments of a constructed (BER) string.
    pub fn octets(&self) -> Result<Vec<u8>, Asn1Error> {
        let mut out = Vec::new();
        collect_octets(self, &mut out, 0)?;
        Ok(out)
    }

    /// Dotted form of an OBJECT IDENTIFIER.
    pub fn oid(&self) -> Result<String, Asn1Error> {
        if !self.is(tag::OID) || self.constructed {
            return Err(Asn1Error::Unexpected("expected OBJECT IDENTIFIER"));
        }
        oid_to_string(self.value)
    }

    /// A small non-negative INTEGER.
    pub fn small_uint(&self) -> Result<u64, Asn1Error> {
        if !self.is(tag::INTEGER) || self.value.is_empty() || self.value.len() > 8 {
            return Err(Asn1Error::Unexpected("expected small INTEGER"));
        }
        if self.value.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(Asn1Error::Unexpected("negative INTEGER"));
        }
        Ok(self
            .value
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }
}

fn collect_octets(t: &Tlv<'_>, out: &mut Vec<u8>, depth: usize) -> Result<(), Asn1Error> {
    if depth > MAX_DEPTH {
        return Err(Asn1Error::TooDeep);
    }
    if t.constructed {
        for c in parse_all(t.value, depth + 1)? {
            collect_octets(&c, out, depth + 1)?;
        }
    } else {
        out.extend_from_slice(t.value);
    }
    Ok(())
}

/// Parses one element at the start of `input`; returns it and the rest.
pub fn parse(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), Asn1Error> {
    parse_at(input, 0)
}

/// Checks that `t` is a well-formed tree to its leaves: every constructed element is exactly
/// filled by its children, at every depth (`parse` alone reads only the outer length).
pub fn check_tree(t: &Tlv<'_>) -> Result<(), Asn1Error> {
    check_at(t, 0)
}

fn check_at(t: &Tlv<'_>, depth: usize) -> Result<(), Asn1Error> {
    if !t.constructed {
        return Ok(());
    }
    if depth > MAX_DEPTH {
        return Err(Asn1Error::TooDeep);
    }
    for c in parse_all(t.value, depth + 1)? {
        check_at(&c, depth + 1)?;
    }
    Ok(())
}

/// Parses every element of `input` (no trailing garbage allowed).
pub fn parse_all(input: &[u8], depth: usize) -> Result<Vec<Tlv<'_>>, Asn1Error> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let (t, r) = parse_at(rest, depth)?;
        out.push(t);
        rest = r;
    }
    Ok(out)
}

fn parse_at(input: &[u8], depth: usize) -> Result<(Tlv<'_>, &[u8]), Asn1Error> {
    if depth > MAX_DEPTH {
        return Err(Asn1Error::TooDeep);
    }
    let first = *input.first().ok_or(Asn1Error::Truncated)?;
    let class = first >> 6;
    let constructed = first & 0x20 != 0;
    let mut pos = 1usize;
    let mut number = u32::from(first & 0x1f);
    if number == 0x1f {
        number = 0;
        loop {
            let b = *input.get(pos).ok_or(Asn1Error::Truncated)?;
            pos += 1;
            if number > (u32::MAX >> 7) {
                return Err(Asn1Error::BadLength);
            }
            number = (number << 7) | u32::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let lb = *input.get(pos).ok_or(Asn1Error::Truncated)?;
    pos += 1;
    if lb == 0x80 {
        // Indefinite length (BER): children until end-of-contents.
        if !constructed {
            return Err(Asn1Error::BadLength);
        }
        let start = pos;
        loop {
            let rest = input.get(pos..).ok_or(Asn1Error::Truncated)?;
            if rest.len() < 2 {
                return Err(Asn1Error::Truncated);
            }
            if rest.starts_with(&[0, 0]) {
                let value = input.get(start..pos).ok_or(Asn1Error::Truncated)?;
                let end = pos + 2;
                let raw = input.get(..end).ok_or(Asn1Error::Truncated)?;
                let tail = input.get(end..).ok_or(Asn1Error::Truncated)?;
                return Ok((
                    Tlv {
                        class,
                        constructed,
                        number,
                        value,
                        raw,
                    },
                    tail,
                ));
            }
            let (_, r) = parse_at(rest, depth + 1)?;
            pos = input.len() - r.len();
        }
    }
    let len = if lb & 0x80 == 0 {
        usize::from(lb)
    } else {
        let n = usize::from(lb & 0x7f);
        if n == 0 || n > 4 {
            return Err(Asn1Error::BadLength);
        }
        let mut l = 0usize;
        for _ in 0..n {
            let b = *input.get(pos).ok_or(Asn1Error::Truncated)?;
            pos += 1;
            l = (l << 8) | usize::from(b);
        }
        l
    };
    let end = pos.checked_add(len).ok_or(Asn1Error::BadLength)?;
    let value = input.get(pos..end).ok_or(Asn1Error::Truncated)?;
    let raw = input.get(..end).ok_or(Asn1Error::Truncated)?;
    let tail = input.get(end..).ok_or(Asn1Error::Truncated)?;
    Ok((
        Tlv {
            class,
            constructed,
            number,
            value,
            raw,
        },
        tail,
    ))
}

/// Dotted-decimal form of OID content octets.
pub fn oid_to_string(v: &[u8]) -> Result<String, Asn1Error> {
    if v.is_empty() || v.len() > 64 {
        return Err(Asn1Error::Unexpected("bad OBJECT IDENTIFIER length"));
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut cur: u64 = 0;
    for (i, b) in v.iter().enumerate() {
        if cur > (u64::MAX >> 7) {
            return Err(Asn1Error::Unexpected("OID arc too large"));
        }
        cur = (cur << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let (a, b2) = match cur {
                    0..=39 => (0, cur),
                    40..=79 => (1, cur - 40),
                    _ => (2, cur - 80),
                };
                arcs.push(a);
                arcs.push(b2);
            } else {
                arcs.push(cur);
            }
            cur = 0;
        } else if i + 1 == v.len() {
            return Err(Asn1Error::Unexpected("unterminated OID arc"));
        }
    }
    Ok(arcs
        .iter()
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join("."))
}

/// Content of a BIT STRING with no unused bits (signatures, keys).
pub fn bit_string_bytes<'a>(t: &Tlv<'a>) -> Result<&'a [u8], Asn1Error> {
    if !t.is(tag::BIT_STRING) || t.constructed {
        return Err(Asn1Error::Unexpected("expected BIT STRING"));
    }
    match t.value.split_first() {
        Some((0, rest)) => Ok(rest),
        _ => Err(Asn1Error::Unexpected("BIT STRING with unused bits")),
    }
}

/// Parses a UTCTime or GeneralizedTime into seconds since the Unix epoch.
pub fn parse_time(t: &Tlv<'_>) -> Result<i64, Asn1Error> {
    let s = std::str::from_utf8(t.value).map_err(|_| Asn1Error::Unexpected("non-ASCII time"))?;
    let bad = Asn1Error::Unexpected("bad time value");
    let (year, rest) = if t.is(tag::UTC_TIME) {
        let yy: i32 = s
            .get(0..2)
            .and_then(|x| x.parse().ok())
            .ok_or(bad.clone())?;
        (
            if yy >= 50 { 1900 + yy } else { 2000 + yy },
            s.get(2..).ok_or(bad.clone())?,
        )
    } else if t.is(tag::GENERALIZED_TIME) {
        let y: i32 = s
            .get(0..4)
            .and_then(|x| x.parse().ok())
            .ok_or(bad.clone())?;
        (y, s.get(4..).ok_or(bad.clone())?)
    } else {
        return Err(Asn1Error::Unexpected("expected a time"));
    };
    let num = |a: usize, b: usize| -> Option<u32> { rest.get(a..b).and_then(|x| x.parse().ok()) };
    let month = num(0, 2).ok_or(bad.clone())?;
    let day = num(2, 4).ok_or(bad.clone())?;
    let hour = num(4, 6).ok_or(bad.clone())?;
    let minute = num(6, 8).ok_or(bad.clone())?;
    let second = num(8, 10).unwrap_or(0);
    let month = time::Month::try_from(u8::try_from(month).map_err(|_| bad.clone())?)
        .map_err(|_| bad.clone())?;
    let date =
        time::Date::from_calendar_date(year, month, u8::try_from(day).map_err(|_| bad.clone())?)
            .map_err(|_| bad.clone())?;
    let tod = time::Time::from_hms(
        u8::try_from(hour).map_err(|_| bad.clone())?,
        u8::try_from(minute).map_err(|_| bad.clone())?,
        u8::try_from(second.min(59)).map_err(|_| bad.clone())?,
    )
    .map_err(|_| bad.clone())?;
    // Fractions and a trailing 'Z' are accepted; explicit offsets are applied.
    let mut secs = time::PrimitiveDateTime::new(date, tod)
        .assume_utc()
        .unix_timestamp();
    if let Some(idx) = rest.find(['+', '-']) {
        let off = rest.get(idx + 1..).unwrap_or("");
        let oh: i64 = off.get(0..2).and_then(|x| x.parse().ok()).unwrap_or(0);
        let om: i64 = off.get(2..4).and_then(|x| x.parse().ok()).unwrap_or(0);
        let delta = oh * 3600 + om * 60;
        if rest.get(idx..idx + 1) == Some("+") {
            secs -= delta;
        } else {
            secs += delta;
        }
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definite_and_indefinite() {
        // SEQUENCE { INTEGER 5 } both ways
        let der = [0x30, 0x03, 0x02, 0x01, 0x05];
        let (t, rest) = parse(&der).unwrap_or_else(|_| unreachable!());
        assert!(rest.is_empty());
        assert_eq!(t.seq().map(|c| c.len()), Ok(1));
        let ber = [0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00, 0xAA];
        let (t, rest) = parse(&ber).unwrap_or_else(|_| unreachable!());
        assert_eq!(rest, &[0xAA]);
        assert_eq!(t.raw.len(), 7);
        assert_eq!(t.value, &[0x02, 0x01, 0x05]);
    }

    #[test]
    fn constructed_octets_join() {
        let ber = [
            0x24, 0x80, 0x04, 0x01, b'a', 0x04, 0x02, b'b', b'c', 0x00, 0x00,
        ];
        let (t, _) = parse(&ber).unwrap_or_else(|_| unreachable!());
        assert_eq!(t.octets(), Ok(b"abc".to_vec()));
    }

    #[test]
    fn hostile_input_is_an_error() {
        assert!(parse(&[0x30]).is_err());
        assert!(parse(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_err());
        assert!(parse(&[0x30, 0x05, 0x02]).is_err());
        let mut deep = Vec::new();
        for _ in 0..200 {
            deep.extend_from_slice(&[0x30, 0x80]);
        }
        assert!(parse(&deep).is_err());
        assert!(parse(&[0x04, 0x80, 0, 0]).is_err());
    }

    #[test]
    fn oids() {
        assert_eq!(
            oid_to_string(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02]),
            Ok("1.2.840.113549.1.7.2".to_string())
        );
    }

    #[test]
    fn times() {
        let utc = [
            0x17, 0x0d, b'2', b'4', b'0', b'1', b'0', b'2', b'0', b'3', b'0', b'4', b'0', b'5',
            b'Z',
        ];
        let (t, _) = parse(&utc).unwrap_or_else(|_| unreachable!());
        assert_eq!(parse_time(&t), Ok(1_704_164_645));
    }
}
