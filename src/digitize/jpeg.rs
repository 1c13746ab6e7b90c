//! JPEG inspection without decoding: dimensions, components, density (JFIF, then EXIF),
//! EXIF orientation, and a structural check of the whole stream (SOI … SOF … SOS … EOI).
//!
//! The bytes are never re-encoded: the copy embeds exactly what was uploaded (DCTDecode),
//! so this module only has to make sure the stream is complete and of a kind PDF readers
//! can display (baseline or progressive Huffman, 8 bits per sample, 1, 3 or 4 components).

use super::Density;

/// What was learnt from the JPEG headers.
#[derive(Debug, Clone, PartialEq)]
pub struct JpegInfo {
    /// Width in pixels as stored.
    pub width: u32,
    /// Height in pixels as stored.
    pub height: u32,
    /// Number of colour components (1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK).
    pub components: u8,
    /// Declared density, if any (JFIF preferred over EXIF).
    pub density: Option<Density>,
    /// EXIF orientation 1..=8 (1 when absent).
    pub orientation: u8,
    /// Offset just after the first SOS header, where entropy-coded data starts.
    scan_start: usize,
}

/// Why a JPEG cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JpegProblem {
    /// Broken or truncated stream.
    Corrupt(String),
    /// Valid, but a variant that is not embedded (e.g. 12-bit, arithmetic coding).
    Unsupported(String),
}

fn corrupt(s: &str) -> JpegProblem {
    JpegProblem::Corrupt(s.to_owned())
}

/// Reads the headers up to the first scan. Cheap: nothing is decoded or allocated.
pub fn read_header(data: &[u8]) -> Result<JpegInfo, JpegProblem> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(corrupt("missing JPEG start marker"));
    }
    let mut pos = 2;
    let mut sof: Option<(u32, u32, u8)> = None;
    let mut jfif: Option<Density> = None;
    let mut exif = ExifFacts::default();
    loop {
        let (marker, after) = next_marker(data, pos).ok_or_else(|| corrupt("file is cut short"))?;
        pos = after;
        match marker {
            0xD8 => return Err(corrupt("second JPEG start marker")),
            0xD9 => return Err(corrupt("end marker before any image data")),
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let (payload, end) = segment(data, pos)?;
        match marker {
            0xE0 if payload.starts_with(b"JFIF\0") => jfif = parse_jfif(payload),
            0xE1 if payload.starts_with(b"Exif\0\0") => exif = parse_exif(&payload[6..]),
            0xC0..=0xCF if sof.is_none() && marker != 0xC4 && marker != 0xC8 && marker != 0xCC => {
                sof = Some(parse_sof(marker, payload)?);
            }
            0xDA => {
                let (width, height, components) =
                    sof.ok_or_else(|| corrupt("image data before the frame header"))?;
                let density = jfif.or(exif.density);
                return Ok(JpegInfo {
                    width,
                    height,
                    components,
                    density,
                    orientation: exif.orientation.unwrap_or(1),
                    scan_start: end,
                });
            }
            _ => {}
        }
        pos = end;
    }
}

/// Walks the entropy-coded data and any later segments up to the end marker (EOI).
/// A truncated upload has no EOI and is refused here.
pub fn check_structure(data: &[u8], info: &JpegInfo) -> Result<(), JpegProblem> {
    let mut pos = info.scan_start;
    loop {
        let ff = data
            .get(pos..)
            .and_then(|rest| memchr::memchr(0xFF, rest))
            .ok_or_else(|| corrupt("file is cut short (no end marker)"))?;
        let mut j = pos + ff + 1;
        while data.get(j) == Some(&0xFF) {
            j += 1;
        }
        let marker = *data
            .get(j)
            .ok_or_else(|| corrupt("file is cut short (no end marker)"))?;
        pos = j + 1;
        match marker {
            0x00 | 0x01 | 0xD0..=0xD7 => {}
            0xD9 => return Ok(()),
            0xD8 => return Err(corrupt("second JPEG start marker")),
            _ => {
                let (_, end) = segment(data, pos)?;
                pos = end;
            }
        }
    }
}

/// Finds the next marker at or after `pos`, skipping fill bytes (and, like libjpeg, stray
/// bytes between segments). Returns the marker code and the offset after it.
fn next_marker(data: &[u8], mut pos: usize) -> Option<(u8, usize)> {
    loop {
        let ff = data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
        let mut j = pos + ff;
        while data.get(j) == Some(&0xFF) {
            j += 1;
        }
        let marker = *data.get(j)?;
        if marker != 0x00 {
            return Some((marker, j + 1));
        }
        // 0xFF00 is only meaningful inside entropy-coded data; keep looking.
        pos = j + 1;
    }
}

/// A length-prefixed segment starting at `pos`: its payload and the offset after it.
fn segment(data: &[u8], pos: usize) -> Result<(&[u8], usize), JpegProblem> {
    let len = data
        .get(pos..pos + 2)
        .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        .ok_or_else(|| corrupt("file is cut short"))?;
    if len < 2 {
        return Err(corrupt("invalid segment length"));
    }
    let end = pos + len;
    let payload = data
        .get(pos + 2..end)
        .ok_or_else(|| corrupt("file is cut short"))?;
    Ok((payload, end))
}

fn parse_sof(marker: u8, p: &[u8]) -> Result<(u32, u32, u8), JpegProblem> {
    if p.len() < 6 {
        return Err(corrupt("frame header too short"));
    }
    let precision = p[0];
    let height = u32::from(u16::from_be_bytes([p[1], p[2]]));
    let width = u32::from(u16::from_be_bytes([p[3], p[4]]));
    let components = p[5];
    if p.len() < 6 + 3 * usize::from(components) {
        return Err(corrupt("frame header too short"));
    }
    match marker {
        0xC0..=0xC2 => {}
        0xC3 => return Err(JpegProblem::Unsupported("lossless JPEG".into())),
        0xC9..=0xCF => {
            return Err(JpegProblem::Unsupported("arithmetic-coded JPEG".into()));
        }
        _ => return Err(JpegProblem::Unsupported("hierarchical JPEG".into())),
    }
    if precision != 8 {
        return Err(JpegProblem::Unsupported(format!(
            "{precision}-bit JPEG (only 8-bit)"
        )));
    }
    if !matches!(components, 1 | 3 | 4) {
        return Err(JpegProblem::Unsupported(format!(
            "JPEG with {components} colour components"
        )));
    }
    if width == 0 || height == 0 {
        return Err(JpegProblem::Unsupported(
            "JPEG without height or width in its frame header".into(),
        ));
    }
    Ok((width, height, components))
}

fn parse_jfif(p: &[u8]) -> Option<Density> {
    // "JFIF\0", version (2), units (1), Xdensity (2), Ydensity (2)
    let units = *p.get(7)?;
    let x = u16::from_be_bytes([*p.get(8)?, *p.get(9)?]);
    let y = u16::from_be_bytes([*p.get(10)?, *p.get(11)?]);
    let per_inch = match units {
        1 => 1.0,
        2 => 2.54,
        _ => return None, // 0 = aspect ratio only
    };
    Density::new(f32::from(x) * per_inch, f32::from(y) * per_inch)
}

#[derive(Default)]
struct ExifFacts {
    density: Option<Density>,
    orientation: Option<u8>,
}

/// Reads XResolution, YResolution, ResolutionUnit and Orientation from IFD0 of a TIFF block.
fn parse_exif(tiff: &[u8]) -> ExifFacts {
    let mut facts = ExifFacts::default();
    let big = match tiff.get(..4) {
        Some(b"MM\0*") => true,
        Some(b"II*\0") => false,
        _ => return facts,
    };
    let u16_at = |o: usize| -> Option<u16> {
        let b = tiff.get(o..o + 2)?;
        Some(if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        })
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = tiff.get(o..o + 4)?;
        let a = [b[0], b[1], b[2], b[3]];
        Some(if big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    };
    let rational_at = |o: usize| -> Option<f32> {
        let num = u32_at(o)?;
        let den = u32_at(o + 4)?;
        (den != 0).then(|| num as f32 / den as f32)
    };
    let Some(ifd) = u32_at(4).map(|v| v as usize) else {
        return facts;
    };
    let Some(count) = u16_at(ifd) else {
        return facts;
    };
    let (mut xres, mut yres, mut unit) = (None, None, 2u16);
    for i in 0..usize::from(count) {
        let e = ifd + 2 + 12 * i;
        let (Some(tag), Some(typ)) = (u16_at(e), u16_at(e + 2)) else {
            break;
        };
        match (tag, typ) {
            (0x011A, 5) => xres = u32_at(e + 8).and_then(|o| rational_at(o as usize)),
            (0x011B, 5) => yres = u32_at(e + 8).and_then(|o| rational_at(o as usize)),
            (0x0128, 3) => unit = u16_at(e + 8).unwrap_or(2),
            (0x0112, 3) => {
                facts.orientation = u16_at(e + 8)
                    .filter(|v| (1..=8).contains(v))
                    .map(|v| v as u8)
            }
            _ => {}
        }
    }
    let per_inch = match unit {
        2 => Some(1.0),
        3 => Some(2.54),
        _ => None,
    };
    if let (Some(x), Some(y), Some(k)) = (xres, yres, per_inch) {
        facts.density = Density::new(x * k, y * k);
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn reads_dimensions_and_checks_structure() {
        let data = encode(40, 30);
        let info = read_header(&data).unwrap();
        assert_eq!((info.width, info.height, info.components), (40, 30, 3));
        check_structure(&data, &info).unwrap();
    }

    #[test]
    fn refuses_truncated() {
        let data = encode(64, 64);
        let cut = &data[..data.len() - 40];
        let info = read_header(cut).unwrap();
        assert!(matches!(
            check_structure(cut, &info),
            Err(JpegProblem::Corrupt(_))
        ));
        assert!(read_header(&data[..20]).is_err());
    }

    #[test]
    fn reads_exif_density_and_orientation() {
        // Little-endian TIFF, IFD0 with XRes, YRes (rationals), unit = inch, orientation = 6.
        let mut t = b"II*\0".to_vec();
        t.extend_from_slice(&8u32.to_le_bytes());
        t.extend_from_slice(&4u16.to_le_bytes());
        let data_off = 8 + 2 + 4 * 12 + 4;
        let entry = |t: &mut Vec<u8>, tag: u16, typ: u16, val: u32| {
            t.extend_from_slice(&tag.to_le_bytes());
            t.extend_from_slice(&typ.to_le_bytes());
            t.extend_from_slice(&1u32.to_le_bytes());
            t.extend_from_slice(&val.to_le_bytes());
        };
        entry(&mut t, 0x011A, 5, data_off as u32);
        entry(&mut t, 0x011B, 5, data_off as u32 + 8);
        entry(&mut t, 0x0128, 3, 2);
        entry(&mut t, 0x0112, 3, 6);
        t.extend_from_slice(&0u32.to_le_bytes());
        for v in [300u32, 1, 600, 2] {
            t.extend_from_slice(&v.to_le_bytes());
        }
        let facts = parse_exif(&t);
        assert_eq!(facts.orientation, Some(6));
        let d = facts.density.unwrap();
        assert_eq!((d.x, d.y), (300.0, 300.0));
    }
}
