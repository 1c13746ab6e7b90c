//! Page images for krilla: uploaded JPEG/PNG as they are, decoded samples as a custom
//! image (Flate), and for every CCITT G4 strip a tiny tagged placeholder that
//! [`super::g4`] swaps for the strip's bytes after export.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use krilla::Data;
use krilla::image::{BitsPerComponent, CustomImage, Image, ImageColorspace};

use crate::digitize::{Colour, Raster};

/// Decoded samples handed to krilla, which deflates them.
#[derive(Clone)]
pub struct RasterImage(pub Raster);

impl Hash for RasterImage {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Identity, not content: each page's samples live for the whole export.
        (Arc::as_ptr(&self.0.samples) as usize).hash(state);
        self.0.width.hash(state);
        self.0.height.hash(state);
        self.0.bits.hash(state);
    }
}

impl CustomImage for RasterImage {
    fn color_channel(&self) -> &[u8] {
        &self.0.samples
    }
    fn alpha_channel(&self) -> Option<&[u8]> {
        self.0.alpha.as_deref().map(Vec::as_slice)
    }
    fn bits_per_component(&self) -> BitsPerComponent {
        if self.0.bits == 16 {
            BitsPerComponent::Sixteen
        } else {
            BitsPerComponent::Eight
        }
    }
    fn size(&self) -> (u32, u32) {
        (self.0.width, self.0.height)
    }
    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }
    fn color_space(&self) -> ImageColorspace {
        match self.0.colour {
            Colour::Gray => ImageColorspace::Luma,
            Colour::Rgb => ImageColorspace::Rgb,
            Colour::Cmyk => ImageColorspace::Cmyk,
        }
    }
}

/// Checks the sample buffers' lengths, so krilla's own assertions cannot fire.
pub fn raster_image(r: &Raster) -> Result<Image, String> {
    let px = r.width as usize * r.height as usize * usize::from(r.bits / 8);
    if r.samples.len() != px * r.colour.channels()
        || r.alpha.as_ref().is_some_and(|a| a.len() != px)
        || !matches!(r.bits, 8 | 16)
    {
        return Err("decoded samples do not match the image size".into());
    }
    Image::from_custom(RasterImage(r.clone()), false)
}

/// Marker at the start of a placeholder's samples.
pub const PLACEHOLDER_MAGIC: &[u8; 8] = b"saoy-G4:";
/// Placeholder width in pixels (8 magic bytes + 8-byte index), 1 row, 8-bit grey.
pub const PLACEHOLDER_WIDTH: u32 = 16;

/// A 16×1 grey or RGB image whose first 16 samples are a marker and an index (the rest of
/// an RGB one is zero): stands in for bytes spliced in after export.
#[derive(Clone, Hash)]
struct Placeholder {
    samples: [u8; 48],
    rgb: bool,
}

impl CustomImage for Placeholder {
    fn color_channel(&self) -> &[u8] {
        if self.rgb {
            &self.samples
        } else {
            &self.samples[..16]
        }
    }
    fn alpha_channel(&self) -> Option<&[u8]> {
        None
    }
    fn bits_per_component(&self) -> BitsPerComponent {
        BitsPerComponent::Eight
    }
    fn size(&self) -> (u32, u32) {
        (PLACEHOLDER_WIDTH, 1)
    }
    fn icc_profile(&self) -> Option<&[u8]> {
        None
    }
    fn color_space(&self) -> ImageColorspace {
        if self.rgb {
            ImageColorspace::Rgb
        } else {
            ImageColorspace::Luma
        }
    }
}

/// A placeholder marked with `magic` and `index`.
fn marked(magic: &[u8; 8], index: u64, rgb: bool) -> Result<Image, String> {
    let mut samples = [0u8; 48];
    samples[..8].copy_from_slice(magic);
    samples[8..16].copy_from_slice(&index.to_be_bytes());
    Image::from_custom(Placeholder { samples, rgb }, false)
}

/// The placeholder image for G4 strip number `index` (in document order).
pub fn placeholder(index: u64) -> Result<Image, String> {
    marked(PLACEHOLDER_MAGIC, index, false)
}

/// The index a placeholder's decoded samples name, if they are a placeholder's.
pub fn placeholder_index(samples: &[u8]) -> Option<u64> {
    let rest = samples.strip_prefix(PLACEHOLDER_MAGIC.as_slice())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// Marker at the start of a JPEG placeholder's samples.
pub const JPEG_PLACEHOLDER_MAGIC: &[u8; 8] = b"saoy-JP:";

/// The placeholder for JPEG number `index` (in document order), in the JPEG's colour
/// model: grey for one component, RGB for three (YCbCr is shown as RGB).
pub fn jpeg_placeholder(index: u64, rgb: bool) -> Result<Image, String> {
    marked(JPEG_PLACEHOLDER_MAGIC, index, rgb)
}

/// The index a JPEG placeholder's decoded samples name, if they are one's.
pub fn jpeg_placeholder_index(samples: &[u8]) -> Option<u64> {
    if samples.len() != 16 && samples.len() != 48 {
        return None;
    }
    let rest = samples.strip_prefix(JPEG_PLACEHOLDER_MAGIC.as_slice())?;
    Some(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
}

/// Shares uploaded bytes with krilla without copying.
pub fn shared(b: &bytes::Bytes) -> Data {
    let arc: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(b.clone());
    Data::from(arc)
}
