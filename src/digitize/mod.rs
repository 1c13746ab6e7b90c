//! Digitising: decode and check the uploaded scans or PDF of a paper original.
//!
//! Every uploaded file is identified from its magic bytes (a declared media type that
//! contradicts the content is refused), checked for size limits from its header before
//! anything is decoded, validated structurally, and turned into pages in upload order.
//! Images are never re-encoded lossily: JPEG bytes are embedded as they are (DCTDecode),
//! CCITT G4 strips of a TIFF as they are (CCITTFaxDecode), PNG and other TIFF pixels
//! losslessly (Flate with PNG predictors; 1-bit pages as G4). Resolution follows NĐ 30/2020 (at least 200 dpi,
//! more where the [`DocumentPolicy`] says so); a scan that declares no density is taken as
//! 72 dpi (the usual convention), so it is refused unless
//! [`DigitizeOptions::allow_low_resolution`] is set. The policy also refuses grey scans of
//! sealed documents and blank pages; [`DecodeLimits`] bound memory and time (image bombs).
//!
//! Files are checked on a few threads at once (the blank-page check of a JPEG reads its
//! coded data without decoding it to pixels); results are merged in upload order, so the
//! pages, warnings and error reported are those of a file-by-file run.
//! [`files::digitize_files`] does the same from files on disk without keeping the JPEG
//! bytes (the batch of [`batch`]).

pub mod batch;
pub mod batch_cli;
mod ccitt;
mod checks;
mod driver;
mod error;
pub mod files;
mod jpeg;
mod jpeg_ink;
pub mod ocr;
mod pdf;
mod png;
pub mod policy;
pub mod raster;
mod sniff;
mod tiff;

use std::time::{Duration, Instant};

use bytes::Bytes;

pub use error::{DigitizeError, FileRef};
pub use ocr::{PageText, Word};
pub use policy::{BlankPages, DocumentPolicy, PolicyBook};
pub use raster::{Bilevel, Colour, G4Strip, Raster};

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

/// Bounds on the work one upload may cause (decompression bombs).
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest decoded buffer of one page, in bytes.
    pub max_decoded_bytes: u64,
    /// Longest time spent digitising one upload.
    pub max_time: Duration,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        Self {
            max_decoded_bytes: 512 << 20,
            max_time: Duration::from_secs(60),
        }
    }
}

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
///
/// Uses the default [`DocumentPolicy`] with `opts.min_dpi` and the default [`DecodeLimits`].
pub fn digitize(
    files: &[UploadedFile],
    opts: &DigitizeOptions,
) -> Result<Digitized, DigitizeError> {
    digitize_with(
        files,
        opts,
        &DocumentPolicy::default(),
        &DecodeLimits::default(),
    )
}

/// Decodes and checks the uploaded originals under a document type's `policy`; the
/// resolution required is the higher of `opts.min_dpi` and `policy.min_dpi`.
pub fn digitize_with(
    files: &[UploadedFile],
    opts: &DigitizeOptions,
    policy: &DocumentPolicy,
    limits: &DecodeLimits,
) -> Result<Digitized, DigitizeError> {
    if files.is_empty() {
        return Err(DigitizeError::NoFiles);
    }
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    let merged = with_run(opts, policy, limits, |run| {
        driver::run_files(&names, run, policy, |i, file| {
            digitize_one(i, file, &files[i], run)
        })
    })?;
    Ok(merged.digitized)
}

/// Calls `f` with the run of `opts` under `policy`: the resolution required is the higher
/// of `opts.min_dpi` and `policy.min_dpi`; the deadline starts now.
fn with_run<T>(
    opts: &DigitizeOptions,
    policy: &DocumentPolicy,
    limits: &DecodeLimits,
    f: impl FnOnce(&Run<'_>) -> T,
) -> T {
    let opts = DigitizeOptions {
        min_dpi: opts.min_dpi.max(policy.min_dpi),
        ..opts.clone()
    };
    let run = Run {
        opts: &opts,
        limits,
        deadline: Instant::now() + limits.max_time,
        measure_ink: policy.blank_pages != BlankPages::Allow,
    };
    f(&run)
}

/// One digitising run: options, limits and the deadline.
struct Run<'a> {
    opts: &'a DigitizeOptions,
    limits: &'a DecodeLimits,
    deadline: Instant,
    /// Decode JPEG scans that may be blank to measure their ink.
    measure_ink: bool,
}

impl Run<'_> {
    fn check_time(&self, file: &FileRef) -> Result<(), DigitizeError> {
        if Instant::now() > self.deadline {
            return Err(DigitizeError::TookTooLong {
                file: file.clone(),
                seconds: self.limits.max_time.as_secs(),
            });
        }
        Ok(())
    }
}

/// Sniffs, checks and measures one uploaded file (on a worker of [`driver`]).
fn digitize_one(
    index: usize,
    file: &FileRef,
    upload: &UploadedFile,
    run: &Run<'_>,
) -> Result<driver::FileResult, DigitizeError> {
    let opts = run.opts;
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
    let pages = match kind {
        sniff::Kind::Jpeg => vec![jpeg_page(index, file, data, opts, run.measure_ink)?],
        sniff::Kind::Png => vec![png_page(index, file, data, opts)?],
        sniff::Kind::Tiff => tiff_pages(index, file, data, run)?,
        sniff::Kind::Pdf => {
            return Ok(driver::FileResult {
                pages: pdf_pages(index, file, data, opts)?
                    .into_iter()
                    .map(|p| (p, checks::Facts::unknown()))
                    .collect(),
                pdf: Some(data.clone()),
                jpeg_files: Vec::new(),
            });
        }
        sniff::Kind::Other(_) => {
            return Err(DigitizeError::UnknownType {
                file: file.clone(),
                detected: kind.describe(),
            });
        }
    };
    Ok(driver::FileResult {
        pages,
        ..driver::FileResult::default()
    })
}

fn jpeg_page(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    opts: &DigitizeOptions,
    measure_ink: bool,
) -> Result<(Page, checks::Facts), DigitizeError> {
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
    let facts = checks::Facts::of_jpeg(data, info.width, info.height, info.components, measure_ink);
    Ok((
        Page::Image {
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
        },
        facts,
    ))
}

fn png_page(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    opts: &DigitizeOptions,
) -> Result<(Page, checks::Facts), DigitizeError> {
    let corrupt = |reason: String| DigitizeError::Corrupt {
        file: file.clone(),
        reason,
    };
    let (width, height) = png::read_ihdr(data).map_err(corrupt)?;
    check_pixels(file, width, height, opts)?;
    let info = png::inspect(data).map_err(corrupt)?;
    let (dpi_x, dpi_y, dpi_declared) = check_density(file, info.density, opts)?;
    let facts = checks::Facts {
        colour: Some(info.colour),
        ink: Some(info.ink),
    };
    Ok((
        Page::Image {
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
        },
        facts,
    ))
}

fn tiff_pages(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    run: &Run<'_>,
) -> Result<Vec<(Page, checks::Facts)>, DigitizeError> {
    let limits = tiff::TiffLimits {
        max_pixels: run.opts.max_pixels_per_page,
        max_decoded_bytes: run.limits.max_decoded_bytes,
    };
    let pages =
        tiff::read_pages(data, limits, |_| run.check_time(file)).map_err(|p| match p {
            tiff::TiffProblem::Corrupt(reason) => DigitizeError::Corrupt {
                file: file.clone(),
                reason,
            },
            tiff::TiffProblem::Unsupported(reason) => DigitizeError::UnsupportedImage {
                file: file.clone(),
                reason,
            },
            tiff::TiffProblem::TooManyPixels { width, height, .. } => {
                DigitizeError::TooManyPixels {
                    file: file.clone(),
                    width,
                    height,
                    max: run.opts.max_pixels_per_page,
                }
            }
            tiff::TiffProblem::TooMuchMemory { page, needed } => DigitizeError::TooMuchMemory {
                file: file.clone(),
                page: page + 1,
                needed_mib: needed.div_ceil(1 << 20),
                max_mib: run.limits.max_decoded_bytes >> 20,
            },
        })??;
    if pages.len() > run.opts.max_pages as usize {
        return Err(DigitizeError::TooManyPages {
            file: file.clone(),
            max: run.opts.max_pages,
        });
    }
    pages
        .into_iter()
        .map(|p| {
            let (dpi_x, dpi_y, dpi_declared) = check_density(file, p.density, run.opts)?;
            let (image, facts) = match p.image {
                tiff::TiffImage::Jpeg(jpeg) => {
                    let components =
                        jpeg::read_header(&jpeg)
                            .map(|i| i.components)
                            .map_err(|_| DigitizeError::Corrupt {
                                file: file.clone(),
                                reason: "the JPEG data of a page is damaged".into(),
                            })?;
                    let facts = checks::Facts::of_jpeg(
                        &jpeg,
                        p.width,
                        p.height,
                        components,
                        run.measure_ink,
                    );
                    (
                        PageImage::Jpeg {
                            data: jpeg,
                            width: p.width,
                            height: p.height,
                            components,
                        },
                        facts,
                    )
                }
                tiff::TiffImage::Bilevel(b) => (
                    PageImage::Bilevel(b),
                    checks::Facts {
                        colour: Some(false),
                        ink: p.ink,
                    },
                ),
                tiff::TiffImage::Raster(r) => (
                    PageImage::Raster(r),
                    checks::Facts {
                        colour: Some(p.colour),
                        ink: p.ink,
                    },
                ),
            };
            Ok((
                Page::Image {
                    image,
                    dpi_x,
                    dpi_y,
                    dpi_declared,
                    orientation: p.orientation,
                    source_file: index,
                },
                facts,
            ))
        })
        .collect()
}

/// The pages of an uploaded PDF; their `pdf_source` is set when the run is merged.
fn pdf_pages(
    index: usize,
    file: &FileRef,
    data: &Bytes,
    opts: &DigitizeOptions,
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
    Ok(sizes
        .into_iter()
        .enumerate()
        .map(|(page_index, (width_pt, height_pt))| Page::PdfPage {
            source_file: index,
            pdf_source: 0,
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
