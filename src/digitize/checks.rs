//! Page checks of a document type's policy: colour where a seal must show, blank pages.

use super::error::{DigitizeError, FileRef};
use super::policy::{BlankPages, DocumentPolicy};
use super::raster::InkMeter;
use super::{Page, PageWarning};

/// Compressed bits per pixel above which a JPEG page has too much detail to be blank; a
/// JPEG that [`super::jpeg_ink`] cannot measure from its coefficients (progressive, CMYK)
/// is fully decoded only under it.
const JPEG_DETAIL_BPP: f64 = 0.35;

/// What was learnt about a page while decoding it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    /// Colour (true) or grey/black-and-white (false); `None` when unknown (PDF pages).
    pub colour: Option<bool>,
    /// Ink measure; `None` when not measured (the page is taken as written).
    pub ink: Option<InkMeter>,
}

impl Facts {
    /// Nothing known (embedded PDF pages).
    pub fn unknown() -> Self {
        Self::default()
    }

    /// Facts of a JPEG: colour from its components; ink measured when `measure` is set,
    /// from the DCT coefficients where possible, else by a full decode when the file is
    /// small enough per pixel to possibly be blank.
    pub fn of_jpeg(data: &[u8], width: u32, height: u32, components: u8, measure: bool) -> Self {
        let pixels = (f64::from(width) * f64::from(height)).max(1.0);
        let bpp = data.len() as f64 * 8.0 / pixels;
        let ink = if measure {
            super::jpeg_ink::measure(data).or_else(|| {
                (bpp < JPEG_DETAIL_BPP)
                    .then(|| super::jpeg_ink::measure_decoded(data))
                    .flatten()
            })
        } else {
            None
        };
        Self {
            colour: Some(components >= 3),
            ink,
        }
    }
}

/// Where a page is, for messages.
pub struct PageAt<'a> {
    /// The uploaded file.
    pub file: &'a FileRef,
    /// 1-based page inside a multi-page file.
    pub page_in_file: Option<usize>,
    /// 1-based page in the copy.
    pub page_in_copy: usize,
}

impl PageAt<'_> {
    fn describe(&self) -> String {
        match self.page_in_file {
            Some(p) => format!("page {p} of {}", self.file),
            None => self.file.to_string(),
        }
    }
}

/// Applies `policy` to one page: an error refuses the upload, a warning is reported.
pub fn check_page(
    at: &PageAt<'_>,
    page: &Page,
    facts: &Facts,
    policy: &DocumentPolicy,
) -> Result<Option<PageWarning>, DigitizeError> {
    if !matches!(page, Page::Image { .. }) {
        return Ok(None);
    }
    if policy.colour_required && facts.colour == Some(false) {
        return Err(DigitizeError::ColourRequired {
            file: at.file.clone(),
            page: at.describe(),
        });
    }
    if facts.ink.is_some_and(|i| i.is_blank()) {
        return match policy.blank_pages {
            BlankPages::Refuse => Err(DigitizeError::BlankPage {
                file: at.file.clone(),
                page: at.describe(),
            }),
            BlankPages::Warn => Ok(Some(PageWarning {
                page: at.page_in_copy,
                message: format!(
                    "{} looks blank: check that the right side was scanned",
                    at.describe()
                ),
            })),
            BlankPages::Allow => Ok(None),
        };
    }
    Ok(None)
}
