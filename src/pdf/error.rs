//! Errors of building the certified copy PDF. Inputs were checked by `digitize`, so these
//! are mostly internal failures; each says which page is concerned where it can.

/// Why the certified copy PDF could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The digitised original has no page.
    #[error("the original has no page to copy")]
    NoPages,

    /// A page refers to an uploaded PDF that is not in the digitised input.
    #[error("page {page} refers to PDF source {source_index}, which is missing")]
    MissingSource {
        /// 1-based page number in the copy.
        page: usize,
        /// The missing index into `Digitized::pdf_sources`.
        source_index: usize,
    },

    /// A scanned image could not be embedded.
    #[error("page {page}: the image cannot be embedded: {reason}")]
    Image {
        /// 1-based page number in the copy.
        page: usize,
        /// What went wrong.
        reason: String,
    },

    /// A page of an uploaded PDF could not be embedded.
    #[error("page {page}: the PDF page cannot be embedded: {reason}")]
    EmbeddedPdf {
        /// 1-based page number in the copy.
        page: usize,
        /// What went wrong.
        reason: String,
    },

    /// The QR payload does not fit in a QR code.
    #[error("QR code: {0}")]
    QrCode(String),

    /// Text could not be laid out (embedded font unusable).
    #[error("text layout: {0}")]
    Text(String),

    /// The document breaks PDF/A-2b and could not be exported as such.
    #[error("PDF/A-2b validation failed: {0}")]
    PdfA(String),

    /// A scan read again from its file while writing is not the file that was checked.
    #[error("{0} changed after it was checked: digitise it again")]
    SourceChanged(String),

    /// Writing the PDF to its destination failed.
    #[error("writing the PDF failed: {0}")]
    Write(String),

    /// Any other export failure of the PDF writer.
    #[error("PDF export failed: {0}")]
    Export(String),
}

impl PdfError {
    /// The kind of this failure: always internal (building the copy failed on the server side (the uploads were checked before)).
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Internal
    }
}
