//! Errors of the digitising step, worded for the clerk who has to fix the upload.

use std::fmt;

use crate::error_kind::ErrorKind;

/// Which uploaded file an error is about: its position in the upload (0-based) and its name.
///
/// Displays as `file 2 "scan.jpg"`, counting from 1 as a clerk would.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRef {
    /// Position in the upload, 0-based.
    pub index: usize,
    /// The name the client gave the file.
    pub name: String,
}

impl FileRef {
    /// Reference to file `index` (0-based) named `name`.
    pub fn new(index: usize, name: &str) -> Self {
        Self {
            index,
            name: name.to_owned(),
        }
    }
}

impl fmt::Display for FileRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "file {} {:?}", self.index + 1, self.name)
    }
}

/// Why the uploaded originals cannot be turned into pages.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DigitizeError {
    /// The request carried no file at all.
    #[error("no file was uploaded: attach the scans or the PDF of the original")]
    NoFiles,

    /// A file has zero bytes (usually a failed upload).
    #[error("{file} is empty: upload it again")]
    EmptyFile {
        /// The file.
        file: FileRef,
    },

    /// The content is none of the accepted formats (JPEG, PNG, TIFF, PDF).
    #[error(
        "{file} is not a JPEG, PNG, TIFF or PDF file ({detected}): scan the original to JPEG, PNG, TIFF or PDF"
    )]
    UnknownType {
        /// The file.
        file: FileRef,
        /// What the content looks like, e.g. "TIFF image" or "unknown content".
        detected: String,
    },

    /// The declared media type contradicts the content, e.g. it claims to be a PDF and is not.
    #[error(
        "{file} claims to be {declared} but its content is {detected}: upload the right file or fix its type"
    )]
    MediaTypeMismatch {
        /// The file.
        file: FileRef,
        /// The media type the client declared.
        declared: String,
        /// What the content really is.
        detected: String,
    },

    /// The file is cut short or its structure is broken (truncated upload, damaged file).
    #[error(
        "{file} is damaged or incomplete ({reason}): upload the file again or re-scan the page"
    )]
    Corrupt {
        /// The file.
        file: FileRef,
        /// What is wrong, in a few words.
        reason: String,
    },

    /// A valid image in a variant that cannot be embedded as-is (e.g. 12-bit or arithmetic-coded JPEG).
    #[error(
        "{file} uses an unsupported image variant ({reason}): save it again as a standard JPEG, PNG or TIFF"
    )]
    UnsupportedImage {
        /// The file.
        file: FileRef,
        /// The variant found.
        reason: String,
    },

    /// The scan's resolution is below the minimum (NĐ 30/2020: at least 200 dpi).
    #[error(
        "{file} was scanned at {dpi} dpi, below the required {min} dpi: scan at {min} dpi or more"
    )]
    ResolutionTooLow {
        /// The file.
        file: FileRef,
        /// The resolution found (72 when the file declares none).
        dpi: u32,
        /// The minimum required.
        min: u32,
    },

    /// The image declares more pixels than allowed per page (possible decompression bomb);
    /// checked from the header, before anything is decoded.
    #[error(
        "{file} declares {width}×{height} pixels, more than the {max} allowed per page: scan at a lower resolution or split the page"
    )]
    TooManyPixels {
        /// The file.
        file: FileRef,
        /// Declared width in pixels.
        width: u32,
        /// Declared height in pixels.
        height: u32,
        /// The limit (pixels per page).
        max: u64,
    },

    /// The upload has more pages in total than allowed.
    #[error(
        "the upload has more than {max} pages (limit reached at {file}): split the original into several requests"
    )]
    TooManyPages {
        /// The file where the limit was crossed.
        file: FileRef,
        /// The limit.
        max: u32,
    },

    /// Decoding a page would need more memory than allowed (possible decompression bomb).
    #[error(
        "page {page} of {file} would need {needed_mib} MiB to read, more than the {max_mib} MiB allowed: scan at a lower resolution or split the file"
    )]
    TooMuchMemory {
        /// The file.
        file: FileRef,
        /// 1-based page inside the file.
        page: usize,
        /// Memory the page needs, MiB.
        needed_mib: u64,
        /// The limit, MiB.
        max_mib: u64,
    },

    /// Reading the upload took longer than allowed (possible decompression bomb).
    #[error(
        "reading the upload took more than {seconds} s (stopped at {file}): split it into smaller files"
    )]
    TookTooLong {
        /// The file being read when time ran out.
        file: FileRef,
        /// The limit in seconds.
        seconds: u64,
    },

    /// A grey or black-and-white scan of a document type that must be scanned in colour.
    #[error(
        "{page} is scanned in grey or black and white, but this kind of document must be scanned in colour (its seal must show): scan it again in colour"
    )]
    ColourRequired {
        /// The file.
        file: FileRef,
        /// Which page, e.g. `page 2 of file 1 "scan.tif"`.
        page: String,
    },

    /// A page that looks blank, where the policy refuses blank pages.
    #[error("{page} looks blank: remove it or scan the right side of the page")]
    BlankPage {
        /// The file.
        file: FileRef,
        /// Which page, e.g. `page 2 of file 1 "scan.tif"`.
        page: String,
    },

    /// A PDF that cannot be parsed.
    #[error(
        "{file} is a PDF that cannot be read: open it, save it again as PDF and upload the new file"
    )]
    PdfUnreadable {
        /// The file.
        file: FileRef,
    },

    /// A PDF protected by encryption or a password; its pages cannot be copied faithfully.
    #[error(
        "{file} is an encrypted or password-protected PDF: remove the protection and upload it again"
    )]
    PdfEncrypted {
        /// The file.
        file: FileRef,
    },

    /// A PDF without any page.
    #[error("{file} is a PDF without any page: upload the PDF of the original")]
    PdfNoPages {
        /// The file.
        file: FileRef,
    },
}

impl DigitizeError {
    /// The file the error is about, if it is about one.
    pub fn file(&self) -> Option<&FileRef> {
        match self {
            Self::NoFiles => None,
            Self::EmptyFile { file }
            | Self::UnknownType { file, .. }
            | Self::MediaTypeMismatch { file, .. }
            | Self::Corrupt { file, .. }
            | Self::UnsupportedImage { file, .. }
            | Self::ResolutionTooLow { file, .. }
            | Self::TooManyPixels { file, .. }
            | Self::TooManyPages { file, .. }
            | Self::PdfUnreadable { file }
            | Self::PdfEncrypted { file }
            | Self::PdfNoPages { file }
            | Self::TooMuchMemory { file, .. }
            | Self::TookTooLong { file, .. }
            | Self::ColourRequired { file, .. }
            | Self::BlankPage { file, .. } => Some(file),
        }
    }

    /// True for limits that protect the server (pixels, pages, memory, time): the caller
    /// maps these to RESOURCE_EXHAUSTED rather than INVALID_ARGUMENT.
    pub fn is_resource_limit(&self) -> bool {
        self.kind() == ErrorKind::ResourceExhausted
    }

    /// The kind of this refusal: [`ErrorKind::ResourceExhausted`] for limits that protect
    /// the server (pixels, pages, memory, time), else [`ErrorKind::InvalidArgument`].
    pub fn kind(&self) -> ErrorKind {
        if self.is_over_limit() {
            ErrorKind::ResourceExhausted
        } else {
            ErrorKind::InvalidArgument
        }
    }

    fn is_over_limit(&self) -> bool {
        matches!(
            self,
            Self::TooManyPixels { .. }
                | Self::TooManyPages { .. }
                | Self::TooMuchMemory { .. }
                | Self::TookTooLong { .. }
        )
    }
}
