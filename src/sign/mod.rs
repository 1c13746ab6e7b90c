//! Signing: CMS SignedData for PDF (PAdES baseline B-B) with keys behind
//! [`crate::pki::key::SigningKey`]. PDF plumbing lives in [`crate::pdf::incremental`].

pub mod cms;
pub mod pades;

pub use pades::{
    ExternalSignature, SignError, SignRequest, finish_external, prepare_external, sign_pdf,
};
