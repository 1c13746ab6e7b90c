//! Digitising: decode and check the uploaded scans or PDF of a paper original.
//!
//! Every uploaded file is identified from its magic bytes (a declared media type that
//! contradicts the content is refused), checked for size limits from its header before
//! anything is decoded, validated structurally, and turned into pages in upload order.
//! Images are never re-encoded: JPEG bytes are embedded as they are (DCTDecode) and PNG
//! losslessly. Resolution follows NĐ 30/2020 (at least 200 dpi); a scan that declares no
//! density is taken as 72 dpi (the usual convention), so it is refused unless
//! [`DigitizeOptions::allow_low_resolution`] is set.

mod error;
mod jpeg;
mod pdf;
mod png;
mod sniff;

use bytes::Bytes;

pub use error::{DigitizeError, FileRef};

/// Density assumed when a scan declares none (the JPEG/PNG convention).
pub const ASSUMED_DPI: f32 = 72.0;

/// One file as uploaded by the client.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    /// File name given by the client (used in error messages only).
    pub name: String,
    /// Media type declared by the client, if any; checked against the content.
    pub media_type: Option<String>,
    /// The bytes.
    pub data: Bytes,
}

/// Limits and policy for [`digitize`].
#[derive(Debug, Clone)]
pub struct DigitizeOptions {
    /// Minimum resolution of image scans, in dpi (NĐ 30/2020: 200).
    pub min_dpi: u32,
    /// Accept scans under `min_dpi` (or without density) instead of refusing them.
    pub allow_low_resolution: bool,
    /// Largest image accepted, in pixels (width × height), checked before decoding.
    pub max_pixels_per_page: u64,
    /// Largest number of pages over all files.
    pub max_pages: u32,
}

impl Default for DigitizeOptions {
    fn default() -> Self {
        Self {
            min_dpi: 200,
            allow_low_resolution: false,
            max_pixels_per_page: 150_000_000,
            max_pages: 500,
        }
    }
}

/// An image page, kept in its uploaded encoding.
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
}

impl PageImage {
    /// Stored width and height in pixels.
    pub fn pixel_size(&self) -> (u32, u32) {
        match self {
            PageImage::Jpeg { width, height, .. } | PageImage::Png { width, height, .. } => {
                (*width, *height)
            }
        }
    }
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
}

/// A declared resolution in dots per inch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Density {
    /// Horizontal dpi.
    pub x: f32,
    /// Vertical dpi.
    pub y: f32,
}

impl Density {
    /// A density, or `None` unless both values are finite and positive.
    pub fn new(x: f32, y: f32) -> Option<Self> {
        (x.is_finite() && y.is_finite() && x > 0.0 && y > 0.0).then_some(Self { x, y })
    }

    /// The lower of the two resolutions, rounded to whole dpi (pHYs stores 200 dpi as
    /// 7874 px/m = 199.9996 dpi, which must count as 200).
    pub fn rounded(self) -> u32 {
        self.x.min(self.y).round() as u32
    }
}

/// Decodes and checks the uploaded originals; pages come out in upload order.
pub fn digitize(
    files: &[UploadedFile],
    opts: &DigitizeOptions,
) -> Result<Digitized, DigitizeError> {
    if files.is_empty() {
        return Err(DigitizeError::NoFiles);
    }
    let mut out = Digitized::default();
    for (index, upload) in files.iter().enumerate() {
        let file = FileRef::new(index, &upload.name);
        let new_pages = digitize_one(index, &file, upload, opts, &mut out.pdf_sources)?;
        if out.pages.len() + new_pages.len() > opts.max_pages as usize {
            return Err(DigitizeError::TooManyPages {
                file,
                max: opts.max_pages,
            });
        }
        out.pages.extend(new_pages);
    }
    Ok(out)
}

fn digitize_one(
    index: usize,
    file: &FileRef,
    upload: &UploadedFile,
    opts: &DigitizeOptions,
    pdf_sources: &mut Vec<Bytes>,
) -> Result<Vec<Page>, DigitizeError> {
    let data = &upload.data;
    if data.is_empty() {
        return Err(DigitizeError::EmptyFile { file: file.clone() });
    }
    let kind = sniff::sniff(data);
    // A declared type contradicts the content when it names a different accepted format,
    // or names some other format while the content is an accepted one.
    if let Some(declared) = sniff::declared_kind(upload.media_type.as_deref())
        && declared != Ok(kind)
        && (declared.is_ok() || !matches!(kind, sniff::Kind::Other(_)))
    {
        return Err(DigitizeError::MediaTypeMismatch {
            file: file.clone(),
            declared: sniff::describe_declared(&declared),
            detected: kind.describe(),
        });
    }
    match kind {
        sniff::Kind::Jpeg => jpeg_page(index, file, data, opts).map(|p| vec![p]),
        sniff::Kind::Png => png_page(index, file, data, opts).map(|p| vec![p]),
        sniff::Kind::Pdf => pdf_pages(index, file, data, opts, pdf_sources),
        sniff::Kind::Other(_) => Err(DigitizeError::UnknownType {
            file: file.clone(),
            detected: kind.describe(),
        }),
    }
}

fn jpeg_page(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    opts: &DigitizeOptions,
) -> Result<Page, DigitizeError> {
    let map = |p: jpeg::JpegProblem| match p {
        jpeg::JpegProblem::Corrupt(reason) => DigitizeError::Corrupt {
            file: file.clone(),
            reason,
        },
        jpeg::JpegProblem::Unsupported(reason) => DigitizeError::UnsupportedImage {
            file: file.clone(),
            reason,
        },
    };
    let info = jpeg::read_header(data).map_err(map)?;
    check_pixels(file, info.width, info.height, opts)?;
    jpeg::check_structure(data, &info).map_err(map)?;
    let (dpi_x, dpi_y, dpi_declared) = check_density(file, info.density, opts)?;
    Ok(Page::Image {
        image: PageImage::Jpeg {
            data: data.clone(),
            width: info.width,
            height: info.height,
            components: info.components,
        },
        dpi_x,
        dpi_y,
        dpi_declared,
        orientation: info.orientation,
        source_file: index,
    })
}

fn png_page(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    opts: &DigitizeOptions,
) -> Result<Page, DigitizeError> {
    let corrupt = |reason: String| DigitizeError::Corrupt {
        file: file.clone(),
        reason,
    };
    let (width, height) = png::read_ihdr(data).map_err(corrupt)?;
    check_pixels(file, width, height, opts)?;
    let info = png::inspect(data).map_err(corrupt)?;
    let (dpi_x, dpi_y, dpi_declared) = check_density(file, info.density, opts)?;
    Ok(Page::Image {
        image: PageImage::Png {
            data: data.clone(),
            width: info.width,
            height: info.height,
        },
        dpi_x,
        dpi_y,
        dpi_declared,
        orientation: 1,
        source_file: index,
    })
}

fn pdf_pages(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    opts: &DigitizeOptions,
    pdf_sources: &mut Vec<Bytes>,
) -> Result<Vec<Page>, DigitizeError> {
    let sizes = pdf::page_sizes(data).map_err(|p| match p {
        pdf::PdfProblem::Unreadable => DigitizeError::PdfUnreadable { file: file.clone() },
        pdf::PdfProblem::Encrypted => DigitizeError::PdfEncrypted { file: file.clone() },
        pdf::PdfProblem::NoPages => DigitizeError::PdfNoPages { file: file.clone() },
    })?;
    if sizes.len() > opts.max_pages as usize {
        return Err(DigitizeError::TooManyPages {
            file: file.clone(),
            max: opts.max_pages,
        });
    }
    let pdf_source = pdf_sources.len();
    pdf_sources.push(data.clone());
    Ok(sizes
        .into_iter()
        .enumerate()
        .map(|(page_index, (width_pt, height_pt))| Page::PdfPage {
            source_file: index,
            pdf_source,
            page_index,
            width_pt,
            height_pt,
        })
        .collect())
}

fn check_pixels(
    file: &FileRef,
    width: u32,
    height: u32,
    opts: &DigitizeOptions,
) -> Result<(), DigitizeError> {
    if u64::from(width) * u64::from(height) > opts.max_pixels_per_page {
        return Err(DigitizeError::TooManyPixels {
            file: file.clone(),
            width,
            height,
            max: opts.max_pixels_per_page,
        });
    }
    Ok(())
}

/// Resolution policy: undeclared density counts as [`ASSUMED_DPI`]; under `min_dpi` is
/// refused unless allowed. Returns (dpi_x, dpi_y, declared).
fn check_density(
    file: &FileRef,
    density: Option<Density>,
    opts: &DigitizeOptions,
) -> Result<(f32, f32, bool), DigitizeError> {
    let declared = density.is_some();
    let d = density.unwrap_or(Density {
        x: ASSUMED_DPI,
        y: ASSUMED_DPI,
    });
    if d.rounded() < opts.min_dpi && !opts.allow_low_resolution {
        return Err(DigitizeError::ResolutionTooLow {
            file: file.clone(),
            dpi: d.rounded(),
            min: opts.min_dpi,
        });
    }
    Ok((d.x, d.y, declared))
}
