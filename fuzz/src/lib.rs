//! saoy's verifier compiled on its own for fuzzing.
//!
//! The module below is the very source of `saoy::verify` (src/verify/), included by path: the
//! verifier depends on nothing else in saoy, so the instrumented build needs only the verifier's
//! own few crates, not the service's RPC, storage and PDF-writing stack. A fuzz finding here is
//! a finding in saoy.

#[path = "../../src/verify/mod.rs"]
pub mod verify;
