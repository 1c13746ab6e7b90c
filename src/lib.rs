//! saoy — electronic certified copies ("sao y bản chính").
//!
//! Flow: [`digitize`] decodes scans → [`pdf`] assembles the copy → [`sign`] adds PAdES
//! signatures → [`store`]/[`records`] keep it → [`verify`] re-checks it on every read.
//! [`app`] ties the steps together; [`service`] exposes them over gRPC, [`web`] the
//! public verification page over HTTP. Dependencies point
//! one way: `service` → `app` → `records`/`sign`/`verify`/`digitize`/`pdf` → `pki`/`store`.

pub mod app;
pub mod audit;
pub mod certifier;
pub mod client;
pub mod clock;
pub mod config;
pub mod digitize;
pub mod error;
pub mod error_kind;
pub mod hash;
pub mod identity;
pub mod listening;
pub mod metrics;
pub mod pdf;
pub mod pki;
pub mod pkiserve;
pub mod records;
pub mod service;
pub mod sign;
pub mod store;
pub mod tsa;
pub mod web;
pub use saoy_verify as verify;

/// Generated gRPC types for package `saoy.v1`.
pub mod proto {
    #![allow(missing_docs, clippy::all, clippy::pedantic)]
    tonic::include_proto!("saoy.v1");
    /// Encoded file descriptor set, for the reflection service.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("saoy_descriptor");
}

pub use error::{Error, Result};
