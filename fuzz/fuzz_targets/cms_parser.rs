//! The verifier's CMS layer: SignedData decoding and SignerInfo checks over fixed content.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    saoy_fuzz::verify::fuzzing::cms(data);
});
