//! Integration tests of one area in one binary (fewer links on 2 cores): each module was a
//! test binary of its own; the helpers are one tree, tests/support/.

#[path = "../support/mod.rs"]
mod support;

mod audit;
mod check;
mod local;
mod probe;
mod s3;
mod s3_replicas;
