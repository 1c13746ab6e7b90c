//! Shared helpers for integration tests: paths, peer validators (pyHanko, pdfsig, qpdf),
//! and an in-process server on 127.0.0.1:0.
#![allow(dead_code)]

pub mod client;
pub mod peers;
pub mod s3;
pub mod server;

use std::path::PathBuf;

/// The crate root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the test PKI.
pub fn pki(file: &str) -> PathBuf {
    root().join("certs-test").join(file)
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
