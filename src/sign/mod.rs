//! Signing: CMS SignedData for PDF (PAdES baseline B-B, B-T with a [`SignatureTimeStamper`]) with keys behind
//! [`crate::pki::key::SigningKey`]. PDF plumbing lives in [`crate::pdf::incremental`].

pub mod cms;
pub mod level;
pub mod pades;
pub mod timestamp;

pub use level::{SignatureLevel, SigningConfig};
pub use pades::{
    ExternalSignature, SignError, SignRequest, finish_external, finish_external_stamped,
    prepare_external, prepare_external_stamped, sign_pdf, sign_pdf_stamped, token_room_of,
};
pub use timestamp::{SignatureTimeStamper, TimeStampFailure};
