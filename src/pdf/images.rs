//! Page images for krilla: uploaded JPEG/PNG as they are, decoded samples as a custom
//! image (Flate), and tiny tagged placeholders swapped for the real bytes after export:
//! for every CCITT G4 strip ([`super::g4`]) and every grey or colour JPEG
//! ([`super::final_write`]).

use std::hash::{Hash, Hasher};
use std::sync::{Arc, OnceLock};

use krilla::Data;
use krilla::image::{BitsPerComponent, CustomImage, Image, ImageColorspace};

use super::pages::{Colour, Raster};

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

/// A 16×1 grey, RGB or CMYK image whose first 16 samples are a marker and an index (the
/// rest is zero): stands in for bytes spliced in after export.
#[derive(Clone, Hash)]
struct Placeholder {
    samples: [u8; 64],
    /// Colour components: 1 grey, 3 RGB, 4 CMYK.
    channels: u8,
}

impl CustomImage for Placeholder {
    fn color_channel(&self) -> &[u8] {
        &self.samples[..16 * usize::from(self.channels)]
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
        match self.channels {
            1 => ImageColorspace::Luma,
            3 => ImageColorspace::Rgb,
            _ => ImageColorspace::Cmyk,
        }
    }
}

/// A placeholder marked with `magic` and `index`.
fn marked(magic: &[u8; 8], index: u64, colour: Colour) -> Result<Image, String> {
    let mut samples = [0u8; 64];
    samples[..8].copy_from_slice(magic);
    samples[8..16].copy_from_slice(&index.to_be_bytes());
    let channels = colour.channels() as u8;
    Image::from_custom(Placeholder { samples, channels }, false)
}

/// The placeholder image for G4 strip number `index` (in document order).
pub fn placeholder(index: u64) -> Result<Image, String> {
    marked(PLACEHOLDER_MAGIC, index, Colour::Gray)
}

/// Marker at the start of a Flate image placeholder's samples ([`super::flate`]).
pub const FLATE_PLACEHOLDER_MAGIC: &[u8; 8] = b"saoy-FL:";

/// The placeholder for Flate image number `index` (in document order), in its colour model.
pub fn flate_placeholder(index: u64, colour: Colour) -> Result<Image, String> {
    marked(FLATE_PLACEHOLDER_MAGIC, index, colour)
}

/// The index a Flate placeholder's decoded samples name, if they are one's.
pub fn flate_placeholder_index(samples: &[u8]) -> Option<u64> {
    if !matches!(samples.len(), 16 | 48 | 64) {
        return None;
    }
    let rest = samples.strip_prefix(FLATE_PLACEHOLDER_MAGIC.as_slice())?;
    Some(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
}

/// The index a placeholder's decoded samples name, if they are a placeholder's.
pub fn placeholder_index(samples: &[u8]) -> Option<u64> {
    let rest = samples.strip_prefix(PLACEHOLDER_MAGIC.as_slice())?;
    Some(u64::from_be_bytes(rest.try_into().ok()?))
}

/// Marker of a JPEG placeholder, in a comment segment right after its start marker.
pub const JPEG_PLACEHOLDER_MAGIC: &[u8; 8] = b"saoy-JP:";

/// The placeholder for JPEG number `index` (in document order), in the JPEG's colour
/// model: grey for one component, YCbCr for three. It is itself a tiny JPEG
/// ([`PLACEHOLDER_WIDTH`] × 1), so krilla embeds it as it is (nothing to compress) and
/// gives it the colour space and checks the real JPEG gets; a comment segment carries the
/// marker and the index.
pub fn jpeg_placeholder(index: u64, rgb: bool) -> Result<Image, String> {
    static GREY: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    static COLOUR: OnceLock<Result<Vec<u8>, String>> = OnceLock::new();
    let tiny = if rgb { &COLOUR } else { &GREY }
        .get_or_init(|| tiny_jpeg(rgb))
        .as_ref()
        .map_err(Clone::clone)?;
    let mut data = Vec::with_capacity(tiny.len() + 20);
    data.extend_from_slice(&tiny[..2]);
    data.extend_from_slice(&[0xFF, 0xFE, 0, 18]);
    data.extend_from_slice(JPEG_PLACEHOLDER_MAGIC);
    data.extend_from_slice(&index.to_be_bytes());
    data.extend_from_slice(&tiny[2..]);
    Image::from_jpeg(Data::from(data), false)
}

/// A [`PLACEHOLDER_WIDTH`] × 1 black JPEG, grey or colour.
fn tiny_jpeg(rgb: bool) -> Result<Vec<u8>, String> {
    use image::codecs::jpeg::JpegEncoder;
    let mut out = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut out, 10);
    let samples = [0u8; 3 * PLACEHOLDER_WIDTH as usize];
    let colour = if rgb {
        image::ExtendedColorType::Rgb8
    } else {
        image::ExtendedColorType::L8
    };
    let len = if rgb { 48 } else { 16 };
    encoder
        .encode(&samples[..len], PLACEHOLDER_WIDTH, 1, colour)
        .map_err(|e| e.to_string())?;
    if !out.starts_with(&[0xFF, 0xD8]) {
        return Err("the placeholder JPEG has no start marker".into());
    }
    Ok(out)
}

/// The index a JPEG placeholder's data names, if it is one's.
pub fn jpeg_placeholder_index(data: &[u8]) -> Option<u64> {
    let rest = data.strip_prefix(&[0xFF, 0xD8, 0xFF, 0xFE, 0, 18])?;
    let rest = rest.strip_prefix(JPEG_PLACEHOLDER_MAGIC.as_slice())?;
    Some(u64::from_be_bytes(rest.get(..8)?.try_into().ok()?))
}

/// Shares uploaded bytes with krilla without copying.
pub fn shared(b: &bytes::Bytes) -> Data {
    let arc: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(b.clone());
    Data::from(arc)
}
