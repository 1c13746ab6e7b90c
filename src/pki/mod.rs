//! Certificates and keys: signer credentials (ring keys + chains), trust anchors and CRLs,
//! and the test-only CA hierarchy generator.

pub mod key;
pub mod testca;
pub mod testca_tls;
pub mod trust;
pub mod pkcs11;
