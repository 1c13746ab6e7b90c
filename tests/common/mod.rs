//! Shared helpers for integration tests: paths, peer validators (pyHanko, pdfsig, qpdf),
//! and an in-process server on 127.0.0.1:0.
#![allow(dead_code)]

pub mod client;
pub mod peers;
pub mod s3;
pub mod server;

use std::path::PathBuf;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the test PKI.
pub fn pki(file: &str) -> PathBuf {
    root().join("certs-test").join(file)
}
