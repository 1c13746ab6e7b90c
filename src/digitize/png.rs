//! PNG inspection: the IHDR size is read by hand first (no allocation, so a header that
//! declares 100000×100000 pixels is refused at once), then the file is decoded row by row
//! to prove it is complete (CRCs, zlib stream, IEND) without holding the whole image.

use std::io::Cursor;

use super::Density;
use super::raster::{Colour, InkMeter};

/// What was learnt from the PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct PngInfo {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Density from `pHYs` when its unit is the metre.
    pub density: Option<Density>,
    /// True for colour images (RGB, RGBA, palette), false for grey.
    pub colour: bool,
    /// Ink measured over every pixel.
    pub ink: InkMeter,
}

/// The PNG signature.
const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// Width and height from the IHDR chunk, read by hand: the first chunk must be IHDR.
pub fn read_ihdr(data: &[u8]) -> Result<(u32, u32), String> {
    if !data.starts_with(SIGNATURE) {
        return Err("missing PNG signature".into());
    }
    let chunk = data
        .get(8..8 + 8 + 13)
        .ok_or_else(|| "file is cut short".to_owned())?;
    if &chunk[4..8] != b"IHDR" || chunk[..4] != 13u32.to_be_bytes() {
        return Err("first chunk is not a valid IHDR".into());
    }
    let width = u32::from_be_bytes([chunk[8], chunk[9], chunk[10], chunk[11]]);
    let height = u32::from_be_bytes([chunk[12], chunk[13], chunk[14], chunk[15]]);
    if width == 0 || height == 0 || width > i32::MAX as u32 || height > i32::MAX as u32 {
        return Err(format!("invalid image size {width}×{height}"));
    }
    Ok((width, height))
}

/// Decodes the whole file row by row (one row buffer) and returns its facts.
/// Call only after [`read_ihdr`] has passed the pixel limit.
pub fn inspect(data: &[u8]) -> Result<PngInfo, String> {
    let mut decoder = png::Decoder::new(Cursor::new(data));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    let mut reader = decoder.read_info().map_err(describe)?;
    let info = reader.info();
    let colour = matches!(
        info.color_type,
        png::ColorType::Rgb | png::ColorType::Rgba | png::ColorType::Indexed
    );
    let (width, height) = (info.width, info.height);
    let density = info.pixel_dims.and_then(|d| match d.unit {
        png::Unit::Meter => Density::new(d.xppu as f32 * 0.0254, d.yppu as f32 * 0.0254),
        png::Unit::Unspecified => None,
    });
    let (out_type, _) = reader.output_color_type();
    let (model, alpha) = match out_type {
        png::ColorType::Grayscale => (Colour::Gray, false),
        png::ColorType::GrayscaleAlpha => (Colour::Gray, true),
        png::ColorType::Rgba => (Colour::Rgb, true),
        _ => (Colour::Rgb, false),
    };
    let mut ink = InkMeter::default();
    let mut opaque = Vec::new();
    while let Some(row) = reader.next_row().map_err(describe)? {
        let data = row.data();
        if alpha {
            let n = model.channels() + 1;
            opaque.clear();
            for px in data.chunks_exact(n) {
                opaque.extend_from_slice(&px[..n - 1]);
            }
            ink.add_row8(&opaque, model);
        } else {
            ink.add_row8(data, model);
        }
    }
    reader.finish().map_err(describe)?;
    Ok(PngInfo {
        width,
        height,
        density,
        colour,
        ink,
    })
}

fn describe(e: png::DecodingError) -> String {
    match e {
        png::DecodingError::IoError(_) => "file is cut short".into(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_png_with_phys() {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 10, 5);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 11811,
                yppu: 11811,
                unit: png::Unit::Meter,
            }));
            let mut w = enc.write_header().unwrap();
            w.write_image_data(&[7u8; 50]).unwrap();
        }
        assert_eq!(read_ihdr(&out).unwrap(), (10, 5));
        let info = inspect(&out).unwrap();
        let d = info.density.unwrap();
        assert_eq!(d.rounded(), 300);
        assert!(inspect(&out[..out.len() - 20]).is_err());
    }
}
