//! Multi-page TIFF: every directory (IFD) is one page, in file order.
//!
//! - CCITT Group 4 black-and-white strips are kept as uploaded (slices of the upload, no
//!   copy) after a decode proves them whole;
//! - a single-strip JPEG page is kept as JPEG: the shared tables (JPEGTables) are put in
//!   front of the strip's own segments, the entropy-coded data is not touched;
//! - everything else (uncompressed, LZW, Deflate, PackBits, tiled or multi-strip JPEG) is
//!   decoded to samples and embedded losslessly; 1-bit pages are coded as G4.
//!
//! Sizes are checked from the directory before any pixel is decoded.

use std::io::Cursor;
use std::sync::Arc;

use bytes::Bytes;
use tiff::ColorType;
use tiff::decoder::{Decoder, DecodingResult, Limits};
use tiff::tags::Tag;

use super::Density;
use super::ccitt;
use super::raster::{Bilevel, Colour, G4Strip, InkMeter, Raster};

/// The most pages one TIFF may have (a loop of directories is a bomb too).
pub const MAX_TIFF_PAGES: usize = 2_000;

/// One page of a TIFF, in the form it will be embedded.
#[derive(Debug, Clone)]
pub enum TiffImage {
    /// A standalone JPEG built from the strip (and the shared tables).
    Jpeg(Bytes),
    /// Black-and-white, G4.
    Bilevel(Bilevel),
    /// Decoded samples.
    Raster(Raster),
}

/// A decoded TIFF page with the facts the checks need.
#[derive(Debug, Clone)]
pub struct TiffPage {
    /// The image.
    pub image: TiffImage,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Declared resolution, if any.
    pub density: Option<Density>,
    /// TIFF orientation (same meaning as EXIF), 1 when absent.
    pub orientation: u8,
    /// True for colour pages (not grey or black-and-white).
    pub colour: bool,
    /// Ink measured while decoding (None for JPEG pages, measured later).
    pub ink: Option<InkMeter>,
}

/// Why a TIFF page cannot be used.
#[derive(Debug, Clone, PartialEq)]
pub enum TiffProblem {
    /// Broken structure or data.
    Corrupt(String),
    /// A valid but unsupported variant.
    Unsupported(String),
    /// Page `page` (0-based) declares more pixels than allowed.
    TooManyPixels {
        /// Page index.
        page: usize,
        /// Width.
        width: u32,
        /// Height.
        height: u32,
    },
    /// Decoding page `page` would need more memory than allowed.
    TooMuchMemory {
        /// Page index.
        page: usize,
        /// Bytes needed.
        needed: u64,
    },
}

/// Limits applied while reading a TIFF.
#[derive(Debug, Clone, Copy)]
pub struct TiffLimits {
    /// Largest width × height of one page.
    pub max_pixels: u64,
    /// Largest decoded buffer of one page, in bytes.
    pub max_decoded_bytes: u64,
}

/// Reads every page; `on_page` is called after each one (for the time limit) and may stop
/// the reading by returning an error.
pub fn read_pages<E>(
    data: &Bytes,
    limits: TiffLimits,
    mut on_page: impl FnMut(usize) -> Result<(), E>,
) -> Result<Result<Vec<TiffPage>, E>, TiffProblem> {
    let mut decoder = Decoder::new(Cursor::new(data.as_ref()))
        .map_err(|e| TiffProblem::Corrupt(e.to_string()))?
        .with_limits(tiff_limits(limits));
    let mut pages = Vec::new();
    loop {
        let index = pages.len();
        pages.push(read_page(&mut decoder, data, index, limits)?);
        if let Err(e) = on_page(index) {
            return Ok(Err(e));
        }
        if !decoder.more_images() {
            break;
        }
        if pages.len() >= MAX_TIFF_PAGES {
            return Err(TiffProblem::Unsupported(format!(
                "more than {MAX_TIFF_PAGES} pages in one file"
            )));
        }
        decoder
            .next_image()
            .map_err(|e| TiffProblem::Corrupt(format!("page {}: {e}", index + 2)))?;
    }
    Ok(Ok(pages))
}

fn tiff_limits(limits: TiffLimits) -> Limits {
    let mut l = Limits::default();
    l.decoding_buffer_size = usize::try_from(limits.max_decoded_bytes).unwrap_or(usize::MAX);
    l.intermediate_buffer_size = l.decoding_buffer_size.min(256 << 20);
    l
}

type Dec<'a> = Decoder<Cursor<&'a [u8]>>;

fn read_page(
    d: &mut Dec<'_>,
    data: &Bytes,
    page: usize,
    limits: TiffLimits,
) -> Result<TiffPage, TiffProblem> {
    let corrupt = |e: tiff::TiffError| TiffProblem::Corrupt(format!("page {}: {e}", page + 1));
    let (width, height) = d.dimensions().map_err(corrupt)?;
    if width == 0 || height == 0 {
        return Err(TiffProblem::Corrupt(format!(
            "page {}: empty image",
            page + 1
        )));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(TiffProblem::TooManyPixels {
            page,
            width,
            height,
        });
    }
    let compression = d
        .find_tag_unsigned::<u16>(Tag::Compression)
        .map_err(corrupt)?
        .unwrap_or(1);
    let photometric = d
        .find_tag_unsigned::<u16>(Tag::PhotometricInterpretation)
        .map_err(corrupt)?;
    let orientation = d
        .find_tag_unsigned::<u16>(Tag::Orientation)
        .map_err(corrupt)?
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1) as u8;
    let density = read_density(d).map_err(corrupt)?;
    let colortype = d
        .colortype()
        .map_err(|e| TiffProblem::Unsupported(format!("page {}: {e}", page + 1)))?;
    let tiled = d.find_tag(Tag::TileWidth).map_err(corrupt)?.is_some();

    let base = |image, colour, ink| TiffPage {
        image,
        width,
        height,
        density,
        orientation,
        colour,
        ink,
    };

    if compression == 4 && !tiled && colortype == ColorType::Gray(1) {
        let fill_order = d
            .find_tag_unsigned::<u16>(Tag::FillOrder)
            .map_err(corrupt)?
            .unwrap_or(1);
        if fill_order == 1 {
            let (bilevel, ink) = g4_passthrough(d, data, page, width, height, photometric)?;
            return Ok(base(TiffImage::Bilevel(bilevel), false, Some(ink)));
        }
    }
    if compression == 7
        && !tiled
        && matches!(photometric, Some(1 | 6))
        && d.strip_count().map_err(corrupt)? == 1
        && let Some(jpeg) = standalone_jpeg(d, data).map_err(corrupt)?
    {
        let colour = photometric == Some(6);
        return Ok(base(TiffImage::Jpeg(jpeg), colour, None));
    }

    let (colour, channels, bits, alpha) = match colortype {
        ColorType::Gray(1) => (Colour::Gray, 1, 1, false),
        ColorType::Gray(b @ (8 | 16)) => (Colour::Gray, 1, b, false),
        ColorType::GrayA(b @ (8 | 16)) => (Colour::Gray, 2, b, true),
        ColorType::RGB(b @ (8 | 16)) => (Colour::Rgb, 3, b, false),
        ColorType::RGBA(b @ (8 | 16)) => (Colour::Rgb, 4, b, true),
        ColorType::CMYK(8) => (Colour::Cmyk, 4, 8, false),
        other => {
            return Err(TiffProblem::Unsupported(format!(
                "page {}: {other:?} pixels",
                page + 1
            )));
        }
    };
    let needed =
        u64::from(width) * u64::from(height) * channels * u64::from(bits).div_ceil(8).max(1);
    if needed > limits.max_decoded_bytes {
        return Err(TiffProblem::TooMuchMemory { page, needed });
    }
    let decoded = d.read_image().map_err(corrupt)?;
    if bits == 1 {
        let DecodingResult::U8(packed) = decoded else {
            return Err(TiffProblem::Corrupt(format!(
                "page {}: bad samples",
                page + 1
            )));
        };
        let (bilevel, ink) = encode_bilevel(&packed, width, height)
            .map_err(|e| TiffProblem::Corrupt(format!("page {}: {e}", page + 1)))?;
        return Ok(base(TiffImage::Bilevel(bilevel), false, Some(ink)));
    }
    let raster = to_raster(
        decoded,
        width,
        height,
        colour,
        channels as usize,
        bits,
        alpha,
    )
    .ok_or_else(|| TiffProblem::Corrupt(format!("page {}: bad samples", page + 1)))?;
    let mut ink = InkMeter::default();
    let row_len = width as usize * colour.channels() * usize::from(bits / 8);
    for row in raster.samples.chunks_exact(row_len.max(1)) {
        if bits == 16 {
            ink.add_row16(row, colour);
        } else {
            ink.add_row8(row, colour);
        }
    }
    Ok(base(
        TiffImage::Raster(raster),
        colour != Colour::Gray,
        Some(ink),
    ))
}

fn read_density(d: &mut Dec<'_>) -> tiff::TiffResult<Option<Density>> {
    let unit = d
        .find_tag_unsigned::<u16>(Tag::ResolutionUnit)?
        .unwrap_or(2);
    let per_inch = match unit {
        2 => 1.0,
        3 => 2.54,
        _ => return Ok(None),
    };
    let x = d.find_tag(Tag::XResolution)?.and_then(rational);
    let y = d.find_tag(Tag::YResolution)?.and_then(rational);
    Ok(match (x, y) {
        (Some(x), Some(y)) => Density::new((x * per_inch) as f32, (y * per_inch) as f32),
        (Some(x), None) => Density::new((x * per_inch) as f32, (x * per_inch) as f32),
        _ => None,
    })
}

/// A resolution value: a rational (as the TIFF spec says) or a plain number.
fn rational(v: tiff::decoder::ifd::Value) -> Option<f64> {
    use tiff::decoder::ifd::Value;
    match v {
        Value::Rational(n, d) if d != 0 => Some(f64::from(n) / f64::from(d)),
        Value::List(mut l) if !l.is_empty() => rational(l.swap_remove(0)),
        other => other.into_f64().ok(),
    }
}

/// Strip offsets and byte counts, as slices of the upload.
fn strips(d: &mut Dec<'_>, data: &Bytes) -> Result<Vec<Bytes>, String> {
    let offsets = d
        .get_tag_u64_vec(Tag::StripOffsets)
        .map_err(|e| e.to_string())?;
    let counts = d
        .get_tag_u64_vec(Tag::StripByteCounts)
        .map_err(|e| e.to_string())?;
    if offsets.len() != counts.len() || offsets.is_empty() {
        return Err("strip tables do not match".into());
    }
    offsets
        .iter()
        .zip(&counts)
        .map(|(&o, &c)| {
            let start = usize::try_from(o).map_err(|_| "strip offset out of range")?;
            let end = start
                .checked_add(usize::try_from(c).map_err(|_| "strip size out of range")?)
                .filter(|&e| e <= data.len())
                .ok_or("file is cut short (a strip lies past its end)")?;
            Ok(data.slice(start..end))
        })
        .collect::<Result<_, &str>>()
        .map_err(str::to_owned)
}

fn g4_passthrough(
    d: &mut Dec<'_>,
    data: &Bytes,
    page: usize,
    width: u32,
    height: u32,
    photometric: Option<u16>,
) -> Result<(Bilevel, InkMeter), TiffProblem> {
    let corrupt = |e: String| TiffProblem::Corrupt(format!("page {}: {e}", page + 1));
    if width > ccitt::MAX_WIDTH {
        return Err(TiffProblem::Unsupported(format!(
            "page {}: {width} pixels wide is too wide for G4",
            page + 1
        )));
    }
    let rows_per_strip = d
        .find_tag_unsigned::<u32>(Tag::RowsPerStrip)
        .map_err(|e| corrupt(e.to_string()))?
        .unwrap_or(height)
        .clamp(1, height);
    let slices = strips(d, data).map_err(corrupt)?;
    let mut out = Vec::with_capacity(slices.len());
    let mut ink = InkMeter::default();
    let mut remaining = height;
    // BlackIsZero (1) shows the coded white runs as black.
    let inverted = photometric == Some(1);
    for slice in slices {
        if remaining == 0 {
            break;
        }
        let rows = rows_per_strip.min(remaining);
        let facts = ccitt::decode_strip(&slice, width, rows, |_| {}).map_err(corrupt)?;
        let black = if inverted {
            u64::from(width) * u64::from(rows) - facts.black
        } else {
            facts.black
        };
        ink.add_counts(black, u64::from(width) * u64::from(rows));
        out.push(G4Strip { data: slice, rows });
        remaining -= rows;
    }
    if remaining > 0 {
        return Err(corrupt("fewer strips than rows".into()));
    }
    Ok((
        Bilevel {
            width,
            height,
            strips: out,
            inverted,
            passthrough: true,
        },
        ink,
    ))
}

/// 1-bit samples as decoded by `tiff` (MSB first, rows padded to a byte, 0 = black) → one G4 strip.
fn encode_bilevel(packed: &[u8], width: u32, height: u32) -> Result<(Bilevel, InkMeter), String> {
    if width > ccitt::MAX_WIDTH {
        return Err(format!("{width} pixels wide is too wide for G4"));
    }
    let stride = (width as usize).div_ceil(8);
    if packed.len() < stride * height as usize {
        return Err("bad samples".into());
    }
    let mut pixels = Vec::with_capacity(width as usize * height as usize);
    for row in packed.chunks_exact(stride).take(height as usize) {
        pixels.extend((0..width as usize).map(|x| (row[x / 8] >> (7 - x % 8)) & 1));
    }
    let black = pixels.iter().filter(|&&p| p == 0).count() as u64;
    let mut ink = InkMeter::default();
    ink.add_counts(black, pixels.len() as u64);
    let coded = ccitt::encode(&pixels, width, height)?;
    Ok((
        Bilevel {
            width,
            height,
            strips: vec![G4Strip {
                data: Bytes::from(coded),
                rows: height,
            }],
            inverted: false,
            passthrough: false,
        },
        ink,
    ))
}

/// Builds a standalone JPEG from a one-strip JPEG page: SOI, the shared tables, then the
/// strip after its own SOI. `None` when the strip is not a JPEG stream.
fn standalone_jpeg(d: &mut Dec<'_>, data: &Bytes) -> tiff::TiffResult<Option<Bytes>> {
    let Ok(slices) = strips(d, data) else {
        return Ok(None);
    };
    let Some(strip) = slices.into_iter().next() else {
        return Ok(None);
    };
    if !strip.starts_with(&[0xFF, 0xD8]) {
        return Ok(None);
    }
    let tables = match d.find_tag(Tag::JPEGTables)? {
        Some(v) => v.into_u8_vec().unwrap_or_default(),
        None => Vec::new(),
    };
    if tables.len() < 4 || !tables.starts_with(&[0xFF, 0xD8]) {
        return Ok(Some(strip));
    }
    let body = tables
        .strip_suffix(&[0xFF, 0xD9])
        .unwrap_or(&tables)
        .get(2..)
        .unwrap_or(&[]);
    let mut out = Vec::with_capacity(strip.len() + body.len());
    out.extend_from_slice(&strip[..2]);
    out.extend_from_slice(body);
    out.extend_from_slice(&strip[2..]);
    Ok(Some(Bytes::from(out)))
}

fn to_raster(
    decoded: DecodingResult,
    width: u32,
    height: u32,
    colour: Colour,
    channels: usize,
    bits: u8,
    alpha: bool,
) -> Option<Raster> {
    let pixels = width as usize * height as usize;
    let bytes: Vec<u8> = match decoded {
        DecodingResult::U8(v) if bits == 8 => v,
        DecodingResult::U16(v) if bits == 16 => v.iter().flat_map(|s| s.to_be_bytes()).collect(),
        _ => return None,
    };
    let sample_bytes = usize::from(bits / 8);
    if bytes.len() < pixels * channels * sample_bytes {
        return None;
    }
    let (samples, alpha) = if alpha {
        let px = channels * sample_bytes;
        let colour_len = (channels - 1) * sample_bytes;
        let mut c = Vec::with_capacity(pixels * colour_len);
        let mut a = Vec::with_capacity(pixels * sample_bytes);
        for p in bytes.chunks_exact(px).take(pixels) {
            c.extend_from_slice(&p[..colour_len]);
            a.extend_from_slice(&p[colour_len..]);
        }
        (c, Some(Arc::new(a)))
    } else {
        let mut b = bytes;
        b.truncate(pixels * channels * sample_bytes);
        (b, None)
    };
    Some(Raster {
        width,
        height,
        colour,
        bits,
        samples: Arc::new(samples),
        alpha,
    })
}
