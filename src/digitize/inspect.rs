//! One file of a digitising run: sniff it, check it against the limits and the resolution
//! floor, and measure what the policy checks need (colour, ink), on a worker of
//! [`super::parallel`].

use std::time::Instant;

use bytes::Bytes;

use super::checks::{self, Facts};
use super::error::{DigitizeError, FileRef};
use super::policy::{BlankPages, DocumentPolicy};
use super::{DecodeLimits, Density, DigitizeOptions, UploadedFile};
use super::{jpeg, pdf_input, png, sniff, tiff};
use crate::pdf::pages::{ASSUMED_DPI, FileJpeg, Page, PageImage};

/// What a worker learnt of one file, before the policy checks.
#[derive(Debug, Default)]
pub(super) struct FileResult {
    /// Pages with what was measured on them.
    pub pages: Vec<(Page, Facts)>,
    /// The uploaded PDF the pages come from (its index is set by the merge).
    pub pdf: Option<Bytes>,
    /// Per page (same index as `pages`), where its JPEG bytes are to be read again when
    /// they were dropped after checking (the streaming path); empty otherwise.
    pub jpeg_files: Vec<Option<FileJpeg>>,
}

/// Calls `f` with the run of `opts` under `policy`: the resolution required is the higher
/// of `opts.min_dpi` and `policy.min_dpi`; the deadline starts now.
pub(super) fn with_run<T>(
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
pub(super) struct Run<'a> {
    pub opts: &'a DigitizeOptions,
    pub limits: &'a DecodeLimits,
    pub deadline: Instant,
    /// Decode JPEG scans that may be blank to measure their ink.
    pub measure_ink: bool,
}

impl Run<'_> {
    pub fn check_time(&self, file: &FileRef) -> Result<(), DigitizeError> {
        if Instant::now() > self.deadline {
            return Err(DigitizeError::TookTooLong {
                file: file.clone(),
                seconds: self.limits.max_time.as_secs(),
            });
        }
        Ok(())
    }
}

/// Sniffs, checks and measures one uploaded file (on a worker of [`super::parallel`]).
pub(super) fn digitize_one(
    index: usize,
    file: &FileRef,
    upload: &UploadedFile,
    run: &Run<'_>,
) -> Result<FileResult, DigitizeError> {
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
            return Ok(FileResult {
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
    Ok(FileResult {
        pages,
        ..FileResult::default()
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
    let sizes = pdf_input::page_sizes(data).map_err(|p| match p {
        pdf_input::PdfProblem::Unreadable => DigitizeError::PdfUnreadable { file: file.clone() },
        pdf_input::PdfProblem::Encrypted => DigitizeError::PdfEncrypted { file: file.clone() },
        pdf_input::PdfProblem::NoPages => DigitizeError::PdfNoPages { file: file.clone() },
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
