//! RFC 3161 time-stamps for signatures (PAdES B-T): the client with ordered failover over
//! the configured TSAs, each answer checked before use (status, nonce, imprint, the token's
//! signature, the TSA certificate's path to the trust anchors and its critical
//! id-kp-timeStamping EKU). Never the local clock instead of a TSA's: when none answers,
//! the caller fails, or signs B-B when the configuration says so.

pub mod asn1;
mod client;
pub mod config;
pub mod http;

pub use client::TsaClient;
pub use config::TsaConfig;
