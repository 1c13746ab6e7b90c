//! saoy's verifier for fuzzing: the `saoy-verify` crate (crates/verify), a dependency like any
//! other. It imports nothing of saoy, so the instrumented build needs only the verifier's own
//! few crates, not the service's RPC, storage and PDF-writing stack. A fuzz finding here is a
//! finding in saoy.

pub use saoy_verify as verify;
