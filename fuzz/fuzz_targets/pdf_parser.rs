//! The verifier's PDF layer: loading, signature discovery and revision classification.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    saoy_fuzz::verify::fuzzing::pdf(data);
});
