//! How many pages a file holds, counted as digitising counts them (the clerk's page count
//! is checked against this): one per JPEG or PNG, one per directory of a TIFF, every page
//! of a PDF. Only headers and directories are read; no pixel is decoded.

use std::io::Cursor;

use bytes::Bytes;

use super::sniff::{Kind, sniff};
use super::tiff::MAX_TIFF_PAGES;

/// The pages in `data`, or why they cannot be counted.
pub fn page_count(data: &[u8]) -> Result<u32, String> {
    let pages = match sniff(data) {
        Kind::Jpeg | Kind::Png => 1,
        Kind::Tiff => tiff_pages(data)?,
        Kind::Pdf => super::pdf_input::page_sizes(&Bytes::copy_from_slice(data))
            .map_err(|e| format!("the PDF's pages cannot be counted: {e:?}"))?
            .len(),
        Kind::Other(what) => return Err(format!("{what} is not a scan saoy reads")),
    };
    u32::try_from(pages).map_err(|_| "too many pages".to_string())
}

/// Directories (pages) of a TIFF.
fn tiff_pages(data: &[u8]) -> Result<usize, String> {
    let mut decoder = tiff::decoder::Decoder::new(Cursor::new(data))
        .map_err(|e| format!("unreadable TIFF: {e}"))?;
    let mut pages = 1;
    while decoder.more_images() {
        if pages >= MAX_TIFF_PAGES {
            return Err(format!("more than {MAX_TIFF_PAGES} pages in one file"));
        }
        decoder
            .next_image()
            .map_err(|e| format!("unreadable TIFF page {}: {e}", pages + 1))?;
        pages += 1;
    }
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_count_one_and_garbage_is_refused() {
        assert_eq!(page_count(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Ok(1));
        assert!(page_count(b"hello").is_err());
    }
}
