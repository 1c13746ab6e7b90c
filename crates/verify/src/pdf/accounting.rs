//! Accounting for every byte after the last signed revision.
//!
//! Bytes that a signature covers are judged by its digest. Bytes after the last signed
//! revision are judged by reading them: each later revision must be readable exactly as its
//! cross-reference data says, without any repair. Its `startxref` points at a section in its
//! own bytes whose `/Prev` is the previous revision's section, every in-use entry points at an
//! `N G obj` of that number, and what lies between the objects is whitespace, comments and the
//! `startxref` line. Objects that the cross-reference data does not name are reported as hidden.
//! Anything else is unreadable, and the document cannot be PASSED: a viewer that repairs such
//! bytes would show content the verifier never judged.

use std::collections::HashSet;

use lopdf::Object;
use lopdf::xref::XrefEntry;

use crate::pdf::xref_reader::{LazyError, Reader, Source, is_ws};

/// Largest gap between objects read to check that it holds only whitespace and comments.
const MAX_GAP: usize = 16 * 1024 * 1024;

/// Bytes after the last signed revision that cannot be read without repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// First byte of the unreadable part (the start of its revision).
    pub start: u64,
    /// End of the unreadable part (the end of its revision, or of the file).
    pub end: u64,
    /// What could not be read, and why.
    pub why: String,
}

impl Unreadable {
    /// A sentence for the report.
    pub fn describe(&self) -> String {
        format!(
            "bytes {}..{} after the last signed revision cannot be read as the cross-reference data describes them (a reader would have to repair the file): {}",
            self.start, self.end, self.why
        )
    }
}

/// What reading the bytes after the last signed revision found.
#[derive(Debug, Default)]
pub struct Account {
    /// Byte spans of complete objects that no cross-reference entry names.
    pub hidden: Vec<(u64, u64)>,
    /// Sentences about hidden objects, for the report's messages.
    pub notes: Vec<String>,
    /// The parts that could not be read.
    pub unreadable: Vec<Unreadable>,
}

impl Account {
    /// True when the byte at `p` lies in an unreadable part or in a hidden object.
    pub fn is_unaccounted(&self, p: u64) -> bool {
        self.unreadable
            .iter()
            .any(|u| (u.start..u.end).contains(&p))
            || self.hidden.iter().any(|(a, b)| (*a..*b).contains(&p))
    }
}

/// Reads every revision that ends after `signed_end` (the end of the last signed revision,
/// 0 when nothing is signed), with `ends` the revision ends (after `%%EOF` and its end of line).
pub fn account(src: &dyn Source, reader: &Reader<'_>, ends: &[usize], signed_end: u64) -> Account {
    let mut acc = Account::default();
    let len = src.len();
    // A signature usually covers `%%EOF` but not the end of line after it.
    let mut start = ends
        .iter()
        .map(|e| *e as u64)
        .filter(|e| *e <= signed_end + 2)
        .max()
        .unwrap_or(0)
        .max(signed_end.min(len));
    let first = start;
    for end in ends.iter().map(|e| *e as u64).filter(|e| *e > first) {
        if let Err(why) = revision(src, reader, start, end, &mut acc) {
            acc.unreadable.push(Unreadable { start, end, why });
            // Later revisions build on this one: they cannot be judged either.
            if end < len {
                acc.unreadable.push(Unreadable {
                    start: end,
                    end: len,
                    why: "it follows a revision that cannot be read".into(),
                });
            }
            return acc;
        }
        start = end;
    }
    if start < len {
        match gap(src, start, len) {
            Ok(()) => {}
            Err(why) => acc.unreadable.push(Unreadable {
                start,
                end: len,
                why: format!("the bytes after the last %%EOF are not a revision: {why}"),
            }),
        }
    }
    acc
}

fn lazy_why(e: LazyError) -> String {
    match e {
        LazyError::Encrypted => "the revision is encrypted".into(),
        LazyError::Fallback(m) => m,
    }
}

/// Reads the revision `[start, end)` strictly, recording its spans in `acc`.
fn revision(
    src: &dyn Source,
    reader: &Reader<'_>,
    start: u64,
    end: u64,
    acc: &mut Account,
) -> Result<(), String> {
    let xref = reader.startxref(end).map_err(lazy_why)?;
    if !(start..end).contains(&xref) {
        return Err(format!(
            "its startxref points at byte {xref}, outside the revision's own bytes"
        ));
    }
    let mut spans: Vec<(u64, u64)> = Vec::new();
    let main = reader
        .any_section(xref, end)
        .map_err(|e| format!("no cross-reference section at byte {xref}: {}", lazy_why(e)))?;
    spans.push((xref, main.end));
    let mut sections = vec![main.clone()];
    if let Ok(Object::Integer(stm)) = main.trailer.get(b"XRefStm") {
        let stm = u64::try_from(*stm).unwrap_or(u64::MAX);
        if !(start..end).contains(&stm) {
            return Err(format!(
                "its /XRefStm points at byte {stm}, outside the revision"
            ));
        }
        let s = reader
            .any_section(stm, end)
            .map_err(|e| format!("no xref stream at byte {stm}: {}", lazy_why(e)))?;
        spans.push((stm, s.end));
        sections.push(s);
    }
    if start > 0 {
        let before = reader
            .startxref(start)
            .map_err(|e| format!("the previous revision has no startxref: {}", lazy_why(e)))?;
        if main.prev != Some(before) {
            return Err(format!(
                "its /Prev ({}) is not the previous revision's cross-reference section (byte {before})",
                main.prev.map_or("missing".to_string(), |p| p.to_string())
            ));
        }
    }
    let mut containers: HashSet<u32> = HashSet::new();
    for s in &sections {
        for (id, e) in &s.entries {
            match e {
                XrefEntry::Normal { offset, generation } => {
                    if *id == 0 && *offset == 0 {
                        continue;
                    }
                    let off = u64::from(*offset);
                    let head = src.bytes(off, 1).unwrap_or_default();
                    if !head.first().is_some_and(u8::is_ascii_digit) {
                        return Err(format!(
                            "object {id} {generation}: its entry points at byte {off}, which does not start an object"
                        ));
                    }
                    let p = reader.object_at(off, end, 0).map_err(|e| {
                        format!("object {id} {generation} at byte {off}: {}", lazy_why(e))
                    })?;
                    if p.id != (*id, *generation) {
                        return Err(format!(
                            "the entry of object {id} {generation} points at byte {off}, where object {} {} is",
                            p.id.0, p.id.1
                        ));
                    }
                    if off >= start {
                        spans.push((off, p.end));
                    }
                }
                XrefEntry::Compressed { container, .. } => {
                    containers.insert(*container);
                }
                _ => {}
            }
        }
    }
    for c in containers {
        let off = sections
            .iter()
            .flat_map(|s| s.entries.iter())
            .find_map(|(id, e)| match e {
                XrefEntry::Normal { offset, .. } if *id == c => Some(u64::from(*offset)),
                _ => None,
            });
        // A container from an earlier revision lies in signed bytes; one named here is read.
        if let Some(off) = off {
            reader
                .objstm(off, end)
                .map_err(|e| format!("object stream {c}: {}", lazy_why(e)))?;
        }
    }
    spans.sort_unstable();
    let mut at = start;
    for (a, b) in &spans {
        if *a > at {
            between(src, reader, at, *a, end, acc)?;
        }
        at = at.max(*b);
    }
    if at < end {
        between(src, reader, at, end, end, acc)?;
    }
    Ok(())
}

/// The bytes `[from, to)` between the named objects of a revision ending at `end`: whitespace,
/// comments, the `startxref` line, or whole objects that no entry names (hidden).
fn between(
    src: &dyn Source,
    reader: &Reader<'_>,
    from: u64,
    to: u64,
    end: u64,
    acc: &mut Account,
) -> Result<(), String> {
    let mut at = from;
    while at < to {
        let n = usize::try_from(to - at).unwrap_or(usize::MAX).min(MAX_GAP);
        let Some(b) = src.bytes(at, n) else {
            return Err("I/O error".into());
        };
        let mut i = 0usize;
        let mut stop = None;
        while i < b.len() {
            let c = b[i];
            if is_ws(c) {
                i += 1;
            } else if c == b'%' {
                while i < b.len() && !matches!(b[i], b'\r' | b'\n') {
                    i += 1;
                }
            } else if b[i..].starts_with(b"startxref") {
                i += 9;
                while i < b.len() && is_ws(b[i]) {
                    i += 1;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                stop = Some(i);
                break;
            }
        }
        let Some(i) = stop else {
            at += b.len() as u64;
            if b.len() < n || n == 0 {
                break;
            }
            continue;
        };
        let p = at + i as u64;
        match reader.object_at(p, end, 0) {
            Ok(o) if o.end <= to => {
                acc.notes.push(format!(
                    "object {} {} at bytes {p}..{} is not named by the cross-reference data (hidden from conforming readers)",
                    o.id.0, o.id.1, o.end
                ));
                acc.hidden.push((p, o.end));
                at = o.end;
            }
            _ => {
                return Err(format!(
                    "bytes from {p} are not part of any object its cross-reference data names"
                ));
            }
        }
    }
    Ok(())
}

/// The bytes `[from, to)` after the last `%%EOF`: only whitespace may follow (a comment there
/// belongs to no revision, and readers that search backwards for `startxref` see it).
fn gap(src: &dyn Source, from: u64, to: u64) -> Result<(), String> {
    let n = usize::try_from(to - from)
        .unwrap_or(usize::MAX)
        .min(MAX_GAP);
    let b = src.bytes(from, n).ok_or("I/O error")?;
    if let Some(i) = b.iter().position(|c| !is_ws(*c)) {
        return Err(format!("byte {} is not whitespace", from + i as u64));
    }
    if (n as u64) < to - from {
        return Err("too many bytes to check".into());
    }
    Ok(())
}
