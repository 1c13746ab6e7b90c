//! Vietnamese OCR with Tesseract: an invisible text layer for searchable copies.

/// A recognised word, in the pixel space of the page image as stored (y down).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// The text (NFC).
    pub text: String,
    /// Left edge, pixels.
    pub x0: u32,
    /// Top edge, pixels.
    pub y0: u32,
    /// Right edge, pixels.
    pub x1: u32,
    /// Bottom edge, pixels.
    pub y1: u32,
}

/// The text found on one page image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PageText {
    /// Width of the image the boxes refer to, pixels.
    pub width: u32,
    /// Height of the image the boxes refer to, pixels.
    pub height: u32,
    /// Words in reading order.
    pub words: Vec<Word>,
}

mod jobs;
mod tesseract;

pub use jobs::{JobId, JobState, JobStatus, Jobs, JobsError, Progress};
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
