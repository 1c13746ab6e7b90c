//! CMS: SignedData decoding, the signer's checks, and RFC 3161 time-stamp tokens.

pub mod signed_data;
pub mod signer;
pub mod timestamp;
