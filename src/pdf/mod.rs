//! PDF plumbing: building the certified copy and the incremental-update machinery used for
//! signing. Knows nothing of CMS or certificates.

pub mod assemble;
mod error;
pub mod incremental;
mod qr;
mod text;

pub use assemble::{Area, AssembledCopy, CopyContent, assemble};
pub use error::PdfError;
