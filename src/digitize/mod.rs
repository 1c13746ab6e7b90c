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
//! [`from_disk::digitize_files`] does the same from files on disk without keeping the JPEG
//! bytes (the back-office batch of `app::batch`).

mod ccitt;
mod checks;
mod count;
mod error;
pub mod from_disk;
mod inspect;
mod jpeg;
mod jpeg_ink;
pub mod ocr;
mod parallel;
mod pdf_input;
mod png;
pub mod policy;
pub mod raster;
mod sniff;
mod tiff;

use std::time::Duration;

use bytes::Bytes;

pub use count::page_count;
pub use error::{DigitizeError, FileRef};
pub use ocr::{PageText, Word};
pub use policy::{BlankPages, DocumentPolicy, PolicyBook};
pub use raster::{Bilevel, Colour, G4Strip, Raster};

pub use crate::pdf::pages::{ASSUMED_DPI, Digitized, Page, PageImage, PageWarning};

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
    let merged = inspect::with_run(opts, policy, limits, |run| {
        parallel::run_files(&names, run, policy, |i, file| {
            inspect::digitize_one(i, file, &files[i], run)
        })
    })?;
    Ok(merged.digitized)
}
