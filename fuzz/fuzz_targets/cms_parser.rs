//! The verifier's CMS layer: SignedData decoding and SignerInfo checks over fixed content.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    saoy::verify::fuzzing::cms(data);
});
