//! PDF originals: parse them (with the same parser the copy builder embeds pages with),
//! refuse encrypted ones, and list their pages with their displayed size.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use bytes::Bytes;
use krilla::pdf::Pdf;

use super::sniff::find;

/// Why a PDF original cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PdfProblem {
    /// Cannot be parsed.
    Unreadable,
    /// Encrypted (even with an empty user password: the copy must be a plain document).
    Encrypted,
    /// Parsed, but no page.
    NoPages,
}

/// Displayed size of each page (points, rotation applied), in order.
pub fn page_sizes(data: &Bytes) -> Result<Vec<(f32, f32)>, PdfProblem> {
    if is_encrypted(data) {
        return Err(PdfProblem::Encrypted);
    }
    let parsed = catch_unwind(AssertUnwindSafe(|| {
        let pdf = Pdf::new(Arc::new(data.clone())).ok()?;
        Some(
            pdf.pages()
                .iter()
                .map(|p| p.render_dimensions())
                .collect::<Vec<_>>(),
        )
    }));
    match parsed {
        Ok(Some(sizes)) if sizes.is_empty() => Err(PdfProblem::NoPages),
        Ok(Some(sizes)) => Ok(sizes),
        Ok(None) | Err(_) => Err(PdfProblem::Unreadable),
    }
}

/// True when the file has an `/Encrypt` entry in a trailer or xref-stream dictionary.
///
/// That entry is never inside a compressed object stream, so a byte search finds every
/// encrypted file; lopdf then confirms, so a stray `/Encrypt` in an uncompressed content
/// stream does not refuse a plain PDF.
fn is_encrypted(data: &[u8]) -> bool {
    let mut rest = data;
    let mut hit = false;
    while let Some(i) = find(rest, b"/Encrypt") {
        let next = rest.get(i + 8).copied();
        if next.is_none_or(|b| !b.is_ascii_alphanumeric()) {
            hit = true;
            break;
        }
        rest = &rest[i + 8..];
    }
    if !hit {
        return false;
    }
    match catch_unwind(|| lopdf::Document::load_mem(data)) {
        Ok(Ok(doc)) => doc.was_encrypted() || doc.is_encrypted(),
        _ => true,
    }
}
