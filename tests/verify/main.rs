//! Integration tests of one area in one binary (fewer links on 2 cores): each module was a
//! test binary of its own; the helpers are one tree, tests/support/.

#[path = "../support/mod.rs"]
mod support;

mod attacks;
mod chains;
mod cli_verify;
mod cli_verify_cert;
mod corpus;
mod etsi_xml;
mod fuzz_corpus;
mod golden;
mod mutation;
mod ocsp;
mod pkcs11;
mod pkits;
mod pyhanko;
mod revocation;
mod sign_peers;
mod streaming;
