//! Vietnamese OCR with Tesseract: an invisible text layer for searchable copies.

pub use crate::pdf::pages::{PageText, Word};

mod tesseract;

pub use tesseract::{Tesseract, parse_tsv};

use super::{Digitized, Page};

/// Why OCR failed. OCR never refuses an upload: the caller decides what a failure means.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OcrError {
    /// The OCR program could not be started.
    #[error(
        "the OCR program is not installed or cannot run ({0}): install tesseract-ocr and tesseract-ocr-vie"
    )]
    NotInstalled(String),
    /// The OCR program failed on a page.
    #[error("OCR failed: {0}")]
    Failed(String),
    /// One page took longer than allowed.
    #[error("OCR of a page took more than {0} s")]
    TimedOut(u64),
    /// Writing or reading the temporary files failed.
    #[error("OCR input/output error: {0}")]
    Io(String),
}

/// Recognises every scanned page of `d` (PDF pages are left as they are) and stores the
/// text in `d.text`; `on_page(done, total)` is called after each page.
pub fn recognize_pages(
    d: &mut Digitized,
    engine: &Tesseract,
    mut on_page: impl FnMut(usize, usize),
) -> Result<(), OcrError> {
    let total = d.pages.len();
    let mut text = Vec::with_capacity(total);
    for (i, page) in d.pages.iter().enumerate() {
        text.push(match page {
            Page::Image {
                image,
                dpi_x,
                dpi_y,
                ..
            } => Some(engine.recognize(image, dpi_x.min(*dpi_y))?),
            Page::PdfPage { .. } => None,
        });
        on_page(i + 1, total);
    }
    d.text = text;
    Ok(())
}
