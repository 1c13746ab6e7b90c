//! PDF plumbing: building the certified copy and the incremental-update machinery used for
//! signing. Knows nothing of CMS or certificates.

pub mod assemble;
pub mod document;
mod error;
mod final_write;
mod flate;
mod g4;
mod images;
pub mod incremental;
pub mod notice;
pub mod pages;
mod qr;
mod text;
mod textlayer;

pub use assemble::{
    ArchiveFacts, Area, AssembledCopy, AssembledScan, CopyContent, ScanContent, WrittenScan,
    assemble, assemble_scan, assemble_scan_to, assemble_with,
};
pub use error::PdfError;
pub use notice::{AssembledNotice, NoticeContent, assemble_notice};
