//! The whole verification path, with no trust anchors (nothing may pass).
#![no_main]

use saoy_fuzz::verify::{ValidationPolicy, verify_pdf};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let r = verify_pdf(data, &ValidationPolicy::default());
    assert!(!r.is_passed());
});
