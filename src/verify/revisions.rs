//! The incremental updates of a file: where each revision ends, and what each one changed
//! compared with the revision before it.

use lopdf::Document;

use super::diff;
use super::pdf;
use super::report::{ModificationLevel, RevisionReport};

/// Most revisions read (each is parsed once); later ones are classed as one more revision.
const MAX_REVISIONS: usize = 24;

/// Byte offsets where a revision ends: after each `%%EOF` (and its end of line).
pub fn ends(pdf: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = pdf
        .get(from..)
        .and_then(|h| h.windows(5).position(|w| w == b"%%EOF"))
    {
        let mut end = from + p + 5;
        if pdf.get(end) == Some(&b'\r') {
            end += 1;
        }
        if pdf.get(end) == Some(&b'\n') {
            end += 1;
        }
        out.push(end);
        from = end;
    }
    out
}

/// Every readable revision after the first, classified against its predecessor; the whole
/// file (`current`) counts as the last revision.
pub fn classify(bytes: &[u8], current: &Document) -> Vec<RevisionReport> {
    let mut docs: Vec<(usize, Document)> = Vec::new();
    let all = ends(bytes);
    let skip = all.len().saturating_sub(MAX_REVISIONS);
    for end in all.into_iter().skip(skip) {
        if end >= bytes.len() {
            break;
        }
        if let Some(prefix) = bytes.get(..end)
            && let Ok(d) = pdf::load(prefix)
        {
            docs.push((end, d));
        }
    }
    let mut out = Vec::new();
    let mut prev: Option<&Document> = None;
    for (end, d) in &docs {
        if let Some(p) = prev {
            out.push(RevisionReport {
                end: *end,
                modification_level: diff::compare(p, d).level(),
            });
        }
        prev = Some(d);
    }
    if let Some(p) = prev {
        out.push(RevisionReport {
            end: bytes.len(),
            modification_level: diff::compare(p, current).level(),
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
        assert_eq!(ends(pdf), vec![18, 29, pdf.len()]);
    }
}
