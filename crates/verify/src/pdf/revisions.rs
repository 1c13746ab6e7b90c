//! The incremental updates of a file: where each revision ends, and what each one changed
//! compared with the revision before it.

use std::rc::Rc;

use lopdf::Document;

use crate::pdf::xref_reader::{Source, find_all};
use crate::report::{ModificationLevel, RevisionReport};

/// Most revisions read (each is parsed once); later ones are classed as one more revision.
pub const MAX_REVISIONS: usize = 24;

/// Most `%%EOF` markers looked at.
pub const MAX_EOF_MARKERS: usize = 1_000_000;

/// Byte offsets where a revision ends: after each `%%EOF` (and its end of line).
pub fn ends(src: &dyn Source) -> Vec<usize> {
    ends_at(src, find_all(src, b"%%EOF", MAX_EOF_MARKERS))
}

/// As [`ends`], from the offsets of the `%%EOF` markers (found by the caller's own scan).
pub fn ends_at(src: &dyn Source, eof_markers: Vec<u64>) -> Vec<usize> {
    let mut out: Vec<usize> = Vec::new();
    for p in eof_markers {
        let Ok(p) = usize::try_from(p) else { break };
        if out.last().is_some_and(|l| p < *l) {
            continue;
        }
        let mut end = p + 5;
        let tail = src.bytes(end as u64, 2).unwrap_or_default();
        let mut t: &[u8] = &tail;
        if let Some(rest) = t.strip_prefix(b"\r") {
            end += 1;
            t = rest;
        }
        if t.first() == Some(&b'\n') {
            end += 1;
        }
        out.push(end);
    }
    out
}

/// Classes the changes from one revision (its end, its document) to a later one.
pub type Comparer<'a> = dyn FnMut((usize, &Document), (usize, &Document)) -> ModificationLevel + 'a;

/// Every readable revision after the first, classified against its predecessor; the whole
/// file (`current`, of `len` bytes) counts as the last revision. `load` gives the document
/// as it was at a revision end; `compare` classes the changes from one (end, document) to a
/// later one (the caller may remember results: signatures ask for the same comparisons).
pub fn classify(
    all: &[usize],
    len: usize,
    load: &mut dyn FnMut(usize) -> Option<Rc<Document>>,
    compare: &mut Comparer<'_>,
    current: &Document,
) -> Vec<RevisionReport> {
    let mut docs: Vec<(usize, Rc<Document>)> = Vec::new();
    let skip = all.len().saturating_sub(MAX_REVISIONS);
    for &end in all.iter().skip(skip) {
        if end >= len {
            break;
        }
        if let Some(d) = load(end) {
            docs.push((end, d));
        }
    }
    let mut out = Vec::new();
    let mut prev: Option<(usize, &Document)> = None;
    for (end, d) in &docs {
        if let Some(p) = prev {
            out.push(RevisionReport {
                end: *end,
                modification_level: compare(p, (*end, d)),
            });
        }
        prev = Some((*end, d));
    }
    if let Some(p) = prev {
        out.push(RevisionReport {
            end: len,
            modification_level: compare(p, (len, current)),
        });
    }
    out
}

/// The worst level among `revs`.
pub fn worst(revs: &[RevisionReport]) -> ModificationLevel {
    revs.iter()
        .map(|r| r.modification_level)
        .fold(ModificationLevel::None, Ord::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_revision_ends() {
        let pdf = b"%PDF-1.7\n...%%EOF\nmore%%EOF\r\nlast %%EOF";
        assert_eq!(
            ends(&crate::pdf::xref_reader::Mem(pdf)),
            vec![18, 29, pdf.len()]
        );
    }
}
