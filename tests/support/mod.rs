//! Shared helpers for the integration tests: paths and the test PKI, peer validators
//! (pyHanko, pdfsig, qpdf), an in-process server on 127.0.0.1:0, an S3 server, and the
//! verifier's fixtures (a base PDF for the attacks, hand-written incremental updates, the
//! attack fixtures, generated PKIs, big PDFs).
#![allow(dead_code)]

pub mod attacks;
pub mod bigpdf;
pub mod chaingen;
pub mod client;
pub mod corpus;
pub mod load;
pub mod load_plot;
pub mod pdfgen;
pub mod peers;
pub mod pkigen;
pub mod pyhanko;
pub mod s3;
pub mod server;
pub mod softhsm;
pub mod web;

use std::path::PathBuf;

/// The crate root.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The crate root (the name the service tests use).
pub fn root() -> PathBuf {
    crate_dir()
}

/// A file of the test PKI (certs-test/), which must exist.
pub fn pki(file: &str) -> PathBuf {
    let p = crate_dir().join("certs-test").join(file);
    assert!(
        p.exists(),
        "{} is missing: run `cargo run -- pki init --out certs-test`",
        p.display()
    );
    p
}

/// DER of the first certificate in a PEM (or DER) file.
pub fn read_der(p: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read(p).expect("read certificate");
    pem::parse(&text).map(|p| p.into_contents()).unwrap_or(text)
}

/// The usual policy: trust certs-test/root.pem, with the issuing CA's CRL.
pub fn policy() -> saoy::verify::ValidationPolicy {
    saoy::verify::ValidationPolicy::new(
        vec![read_der(&pki("root.pem"))],
        vec![std::fs::read(pki("issuing-ca.crl")).expect("crl")],
        None,
    )
}

/// Where fixtures are written for inspection and as fuzz seeds.
pub fn fixture_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-fixtures");
    std::fs::create_dir_all(&d).expect("fixture dir");
    d
}

/// The report as text, for assertion messages.
pub fn show(r: &saoy::verify::Report) -> String {
    r.render_text()
}

/// True when signature `index` of `r` has a passed check `name` whose detail mentions `needle`.
pub fn check_mentions(r: &saoy::verify::Report, index: usize, name: &str, needle: &str) -> bool {
    r.signatures.get(index).is_some_and(|s| {
        s.checks
            .iter()
            .any(|c| c.name == name && c.passed && c.detail.contains(needle))
    })
}

/// Asserts the document's sub-indication, showing the whole report when it differs.
#[track_caller]
pub fn assert_sub(r: &saoy::verify::Report, expected: saoy::verify::SubIndication) {
    assert_eq!(r.sub_indication, Some(expected), "{}", show(r));
}

/// `img` encoded as a JPEG at `quality`, its JFIF header declaring `dpi` × `dpi` pixels per inch.
pub fn jpeg_at_dpi<I>(img: &I, dpi: u16, quality: u8) -> Vec<u8>
where
    I: image::GenericImageView,
    I::Pixel: image::PixelWithColorType,
{
    use image::codecs::jpeg::{JpegEncoder, PixelDensity, PixelDensityUnit};
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, quality);
    enc.set_pixel_density(PixelDensity {
        density: (dpi, dpi),
        unit: PixelDensityUnit::Inches,
    });
    enc.encode_image(img)
        .expect("JPEG encoding of a test image");
    out
}

/// Lowercase hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}
