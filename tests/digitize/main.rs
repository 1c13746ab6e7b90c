//! Integration tests of one area in one binary (fewer links on 2 cores): each module was a
//! test binary of its own; the helpers are one tree, tests/support/.

#[path = "../support/mod.rs"]
mod support;

mod assemble;
mod batch;
mod checks;
mod flate;
mod inputs;
mod ocr;
mod pdfa;
mod service;
mod stream;
mod tiff_more;
