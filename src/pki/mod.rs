//! Certificates and keys: signer credentials (ring keys or PKCS#11 token keys + chains),
//! trust anchors and CRLs, and the test-only CA hierarchy generator.

pub mod key;
pub mod pkcs11;
pub mod testca;
pub mod testca_tls;
pub mod testca_tsa;
pub mod trust;
