//! The page model the copy builder consumes: pages in upload order, each an image kept in
//! its uploaded encoding (JPEG, PNG, CCITT G4 strips) or decoded samples, or a page of an
//! uploaded PDF; warnings for the clerk and OCR text. `digitize` fills it, [`super::assemble()`]
//! reads it; this module imports nothing of saoy, so the arrow runs digitize → pdf only.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;

/// Density assumed when a scan declares none (the JPEG/PNG convention).
pub const ASSUMED_DPI: f32 = 72.0;

/// An image page, kept in its uploaded encoding where it can be embedded as it is.
#[derive(Debug, Clone, PartialEq)]
pub enum PageImage {
    /// Baseline or progressive 8-bit JPEG; `data` is the exact uploaded file.
    Jpeg {
        /// The uploaded bytes, embedded unchanged.
        data: Bytes,
        /// Width in pixels as stored (before EXIF orientation).
        width: u32,
        /// Height in pixels as stored (before EXIF orientation).
        height: u32,
        /// 1 (grey), 3 (colour) or 4 (CMYK).
        components: u8,
    },
    /// PNG; `data` is the exact uploaded file, embedded losslessly.
    Png {
        /// The uploaded bytes.
        data: Bytes,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// Black-and-white page as CCITT G4 strips (from a TIFF).
    Bilevel(Bilevel),
    /// Decoded samples (from a TIFF), embedded with Flate.
    Raster(Raster),
}

impl PageImage {
    /// Stored width and height in pixels.
    pub fn pixel_size(&self) -> (u32, u32) {
        match self {
            PageImage::Jpeg { width, height, .. } | PageImage::Png { width, height, .. } => {
                (*width, *height)
            }
            PageImage::Bilevel(b) => (b.width, b.height),
            PageImage::Raster(r) => (r.width, r.height),
        }
    }
}

/// Something the clerk should look at that did not stop the copy.
#[derive(Debug, Clone, PartialEq)]
pub struct PageWarning {
    /// 1-based page number in the copy.
    pub page: usize,
    /// What to look at, in the clerk's words.
    pub message: String,
}

/// One page of the original, in upload order.
#[derive(Debug, Clone, PartialEq)]
pub enum Page {
    /// A scanned image.
    Image {
        /// The image.
        image: PageImage,
        /// Horizontal resolution (of the stored pixels), dpi; [`ASSUMED_DPI`] if undeclared.
        dpi_x: f32,
        /// Vertical resolution (of the stored pixels), dpi; [`ASSUMED_DPI`] if undeclared.
        dpi_y: f32,
        /// False when the file declared no density and [`ASSUMED_DPI`] was used.
        dpi_declared: bool,
        /// EXIF orientation 1..=8 (1 = as stored); the copy shows the page upright.
        orientation: u8,
        /// Index of the uploaded file.
        source_file: usize,
    },
    /// Page `page_index` of an uploaded PDF.
    PdfPage {
        /// Index of the uploaded file.
        source_file: usize,
        /// Index into [`Digitized::pdf_sources`].
        pdf_source: usize,
        /// 0-based page number inside that PDF.
        page_index: usize,
        /// Displayed width in points (page rotation applied).
        width_pt: f32,
        /// Displayed height in points (page rotation applied).
        height_pt: f32,
    },
}

/// The checked pages of one original, ready for the copy builder.
#[derive(Debug, Clone, Default)]
pub struct Digitized {
    /// Pages in upload order.
    pub pages: Vec<Page>,
    /// The uploaded PDFs whose pages are referenced by [`Page::PdfPage`].
    pub pdf_sources: Vec<Bytes>,
    /// Things the clerk should check (e.g. a blank page that was accepted).
    pub warnings: Vec<PageWarning>,
    /// OCR text per page (same index as `pages`); empty when no OCR was run.
    pub text: Vec<Option<PageText>>,
}

/// Colour model of decoded samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Colour {
    /// One grey channel, 0 = black.
    Gray,
    /// Red, green, blue.
    Rgb,
    /// Cyan, magenta, yellow, black (0 = no ink).
    Cmyk,
}

impl Colour {
    /// Channels per pixel (without alpha).
    pub fn channels(self) -> usize {
        match self {
            Colour::Gray => 1,
            Colour::Rgb => 3,
            Colour::Cmyk => 4,
        }
    }
}

/// Decoded pixels, interleaved; 16-bit samples are big-endian (the PDF byte order).
#[derive(Debug, Clone, PartialEq)]
pub struct Raster {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour model.
    pub colour: Colour,
    /// Bits per sample: 8 or 16.
    pub bits: u8,
    /// The colour samples.
    pub samples: Arc<Vec<u8>>,
    /// Alpha samples (same depth), if the image has transparency.
    pub alpha: Option<Arc<Vec<u8>>>,
}

/// One strip of a CCITT Group 4 image: `rows` rows, coded on their own (K = -1).
#[derive(Debug, Clone, PartialEq)]
pub struct G4Strip {
    /// The coded bytes (a slice of the upload when passed through).
    pub data: Bytes,
    /// Rows in this strip.
    pub rows: u32,
}

/// A black-and-white page as CCITT Group 4 strips, top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Bilevel {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels (sum of the strips' rows).
    pub height: u32,
    /// The strips.
    pub strips: Vec<G4Strip>,
    /// True when the coded "white" runs are to be shown black (TIFF BlackIsZero).
    pub inverted: bool,
    /// True when the strips are the uploaded bytes, false when saoy encoded them.
    pub passthrough: bool,
}

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

/// The JPEG file a page is read from when the PDF is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileJpeg {
    /// Where the file is.
    pub path: PathBuf,
    /// Its length when it was checked.
    pub len: u64,
    /// CRC-32 of its bytes when it was checked.
    pub crc: u32,
}

impl FileJpeg {
    /// CRC-32 (as in zlib) of `data`.
    pub fn checksum(data: &[u8]) -> u32 {
        let mut crc = flate2::Crc::new();
        crc.update(data);
        crc.sum()
    }
}

/// A document digitised from files: the pages, and for each grey or colour JPEG page the
/// file its bytes are read from again (such a page holds no bytes itself).
#[derive(Debug, Clone, Default)]
pub struct DigitizedFiles {
    digitized: Digitized,
    jpeg_files: Vec<Option<FileJpeg>>,
}

impl DigitizedFiles {
    /// Pages in file order; a page with a [`Self::jpeg_file`] has empty JPEG data.
    pub fn pages(&self) -> &[Page] {
        &self.digitized.pages
    }

    /// Things the clerk should check.
    pub fn warnings(&self) -> &[PageWarning] {
        &self.digitized.warnings
    }

    /// Where page `index`'s JPEG bytes are, if they were left on disk.
    pub fn jpeg_file(&self, index: usize) -> Option<&FileJpeg> {
        self.jpeg_files.get(index).and_then(Option::as_ref)
    }

    /// The pages as [`Digitized`], for the PDF writer (pages with a [`Self::jpeg_file`]
    /// hold no JPEG bytes).
    pub fn digitized(&self) -> &Digitized {
        &self.digitized
    }

    /// Pages with, per page (same index), where its JPEG bytes are when they were left on
    /// disk (filled by `digitize::digitize_files`).
    pub fn new(digitized: Digitized, jpeg_files: Vec<Option<FileJpeg>>) -> Self {
        Self {
            digitized,
            jpeg_files,
        }
    }
}
