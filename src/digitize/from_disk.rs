//! Digitising straight from files on disk, for documents too large to hold whole (the
//! back-office batch of `app::batch`).
//!
//! Each file is read when a worker gets to it, checked exactly as an upload would be, and
//! its bytes are dropped again as soon as its pages are known: a grey or colour JPEG page
//! keeps only where its file is, its length and a CRC-32 of the bytes checked, and the PDF
//! writer ([`crate::pdf::assemble_scan_to`]) copies the file into the output when it gets
//! to that page, refusing it if it changed in between. Other pages (PNG, TIFF, PDF, CMYK
//! JPEG) keep their data in memory as [`super::digitize_with`] does.

use std::io::Read;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::error::{DigitizeError, FileRef};
use super::inspect::{self, FileResult};
use super::parallel;
pub use crate::pdf::pages::{DigitizedFiles, FileJpeg};

use super::{DecodeLimits, DigitizeOptions, DocumentPolicy, Page, PageImage, UploadedFile};

/// Why a document on disk could not be digitised.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A file could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The content was refused, as an upload would be.
    #[error(transparent)]
    Digitize(#[from] DigitizeError),
}

/// Digitises `paths` (one document, pages in the order given) under `policy`, reading each
/// file when it is checked and keeping no grey or colour JPEG bytes afterwards. A file
/// larger than `limits.max_decoded_bytes` is refused before it is read.
pub fn digitize_files(
    paths: &[PathBuf],
    opts: &DigitizeOptions,
    policy: &DocumentPolicy,
    limits: &DecodeLimits,
) -> Result<DigitizedFiles, FilesError> {
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    if paths.is_empty() {
        return Err(DigitizeError::NoFiles.into());
    }
    let merged = inspect::with_run(opts, policy, limits, |run| {
        parallel::run_files(&refs, run, policy, |i, file| {
            let data = read_bounded(&paths[i], limits.max_decoded_bytes, file)?;
            let upload = UploadedFile {
                name: names[i].clone(),
                media_type: None,
                data: Bytes::from(data),
            };
            let mut result = inspect::digitize_one(i, file, &upload, run)?;
            detach(&mut result, &paths[i], &upload.data);
            Ok::<_, FilesError>(result)
        })
    })?;
    Ok(DigitizedFiles::new(merged.digitized, merged.jpeg_files))
}

/// Reads a whole file of at most `max` bytes; a larger one is refused as too much memory.
fn read_bounded(path: &Path, max: u64, file: &FileRef) -> Result<Vec<u8>, FilesError> {
    let io = |e: std::io::Error| FilesError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let too_large = |needed: u64| {
        FilesError::from(DigitizeError::TooMuchMemory {
            file: file.clone(),
            page: 1,
            needed_mib: needed.div_ceil(1 << 20),
            max_mib: max >> 20,
        })
    };
    let f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len > max {
        return Err(too_large(len));
    }
    let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(max.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(io)?;
    if data.len() as u64 > max {
        return Err(too_large(data.len() as u64));
    }
    Ok(data)
}

/// Drops the bytes of the file's grey or colour JPEG page (the whole file), keeping where
/// to find them; copies out the slices other pages keep, so the file's buffer is freed.
fn detach(result: &mut FileResult, path: &Path, whole: &Bytes) {
    result.jpeg_files = result
        .pages
        .iter_mut()
        .map(|(page, _)| {
            let Page::Image { image, .. } = page else {
                return None;
            };
            match image {
                PageImage::Jpeg {
                    data,
                    components: 1 | 3,
                    ..
                } if data.as_ptr() == whole.as_ptr() && data.len() == whole.len() => {
                    let source = FileJpeg {
                        path: path.to_path_buf(),
                        len: data.len() as u64,
                        crc: FileJpeg::checksum(data),
                    };
                    *data = Bytes::new();
                    Some(source)
                }
                PageImage::Jpeg { data, .. } if data.len() < whole.len() => {
                    *data = Bytes::copy_from_slice(data);
                    None
                }
                PageImage::Bilevel(b) => {
                    for strip in &mut b.strips {
                        strip.data = Bytes::copy_from_slice(&strip.data);
                    }
                    None
                }
                _ => None,
            }
        })
        .collect();
}
