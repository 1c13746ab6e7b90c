//! Multi-page TIFF: every directory (IFD) is one page, in file order.
//!
//! - CCITT Group 4 black-and-white strips are kept as uploaded (slices of the upload, no
//!   copy) after a decode proves them whole;
//! - a single-strip JPEG page is kept as JPEG: the shared tables (JPEGTables) are put in
//!   front of the strip's own segments, the entropy-coded data is not touched;
//! - everything else (uncompressed, LZW, Deflate, PackBits, tiled or multi-strip JPEG) is
//!   decoded to samples and embedded losslessly; 1-bit pages are coded as G4;
//! - palette pages (PhotometricInterpretation 3, 1/2/4/8/16-bit indices) are expanded
//!   through their ColorMap: 8-bit samples when every entry is an exact 8-bit value
//!   (v × 257), else the map's 16-bit values; grey when every entry is grey;
//! - tiled pages (TileWidth/TileLength) are reassembled, edge tiles cropped to the image.
//!
//! Sizes (the page, one tile, the decoded and expanded buffers) are checked from the
//! directory before any pixel is decoded.

use std::io::{Cursor, Read, Seek, SeekFrom};
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
    let tiled = d.find_tag(Tag::TileWidth).map_err(corrupt)?.is_some();
    if tiled {
        check_tile(d, page, limits)?;
    }

    let base = |image, colour, ink| TiffPage {
        image,
        width,
        height,
        density,
        orientation,
        colour,
        ink,
    };

    if photometric == Some(PALETTE) {
        let (raster, ink, colour) = palette_page(d, data, page, width, height, limits)?;
        return Ok(base(TiffImage::Raster(raster), colour, Some(ink)));
    }
    let colortype = d
        .colortype()
        .map_err(|e| TiffProblem::Unsupported(format!("page {}: {e}", page + 1)))?;

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
    let decoded = d.read_image().map_err(|e| decode_problem(page, e))?;
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

/// PhotometricInterpretation of palette (indexed colour) pages.
const PALETTE: u16 = 3;

/// A decoding error: unsupported variants as such, the rest as damage.
fn decode_problem(page: usize, e: tiff::TiffError) -> TiffProblem {
    match e {
        tiff::TiffError::UnsupportedError(_) => {
            TiffProblem::Unsupported(format!("page {}: {e}", page + 1))
        }
        _ => TiffProblem::Corrupt(format!("page {}: {e}", page + 1)),
    }
}

/// Bits per sample (the first) and samples per pixel, as the directory declares them.
fn sample_layout(d: &mut Dec<'_>) -> tiff::TiffResult<(u16, u16)> {
    let bits = d
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)?
        .and_then(|v| v.first().copied())
        .unwrap_or(1);
    let samples = d
        .find_tag_unsigned::<u16>(Tag::SamplesPerPixel)?
        .unwrap_or(1);
    Ok((bits, samples))
}

/// One tile must fit the decode budget: its decoder holds a whole tile (JPEG tiles are
/// decoded whole), whatever the size of the image.
fn check_tile(d: &mut Dec<'_>, page: usize, limits: TiffLimits) -> Result<(), TiffProblem> {
    let corrupt = |e: tiff::TiffError| TiffProblem::Corrupt(format!("page {}: {e}", page + 1));
    let tile_w = d
        .find_tag_unsigned::<u32>(Tag::TileWidth)
        .map_err(corrupt)?
        .unwrap_or(0);
    let tile_h = d
        .find_tag_unsigned::<u32>(Tag::TileLength)
        .map_err(corrupt)?
        .unwrap_or(0);
    if tile_w == 0 || tile_h == 0 {
        return Err(TiffProblem::Corrupt(format!(
            "page {}: tiles of {tile_w} × {tile_h} pixels",
            page + 1
        )));
    }
    let (bits, samples) = sample_layout(d).map_err(corrupt)?;
    let row = (u64::from(tile_w) * u64::from(bits) * u64::from(samples)).div_ceil(8);
    let needed = row.saturating_mul(u64::from(tile_h));
    if needed > limits.max_decoded_bytes {
        return Err(TiffProblem::TooMuchMemory { page, needed });
    }
    Ok(())
}

/// A palette page expanded through its colour map; the flag says whether a colour that is
/// not grey is used.
fn palette_page(
    d: &mut Dec<'_>,
    data: &Bytes,
    page: usize,
    width: u32,
    height: u32,
    limits: TiffLimits,
) -> Result<(Raster, InkMeter, bool), TiffProblem> {
    let at = |m: String| format!("page {}: {m}", page + 1);
    let corrupt = |e: tiff::TiffError| TiffProblem::Corrupt(at(e.to_string()));
    let (bits, samples) = sample_layout(d).map_err(corrupt)?;
    if samples != 1 || !matches!(bits, 1 | 2 | 4 | 8 | 16) {
        return Err(TiffProblem::Unsupported(at(format!(
            "palette pixels of {samples} samples of {bits} bits"
        ))));
    }
    let map = d
        .find_tag_unsigned_vec::<u16>(Tag::ColorMap)
        .map_err(corrupt)?
        .ok_or_else(|| TiffProblem::Corrupt(at("a palette page without its ColorMap".into())))?;
    let entries = map.len() / 3;
    if entries == 0 || map.len() % 3 != 0 || entries > 1usize << bits {
        return Err(TiffProblem::Corrupt(at(format!(
            "a ColorMap of {} values for {bits}-bit indices",
            map.len()
        ))));
    }
    let (red, rest) = map.split_at(entries);
    let (green, blue) = rest.split_at(entries);
    let grey = (0..entries).all(|i| red[i] == green[i] && green[i] == blue[i]);
    let exact8 = map.iter().all(|v| v % 257 == 0);
    let (colour, channels) = if grey {
        (Colour::Gray, 1u64)
    } else {
        (Colour::Rgb, 3)
    };
    let out_bits: u8 = if exact8 { 8 } else { 16 };

    let row_bytes = (u64::from(width) * u64::from(bits)).div_ceil(8);
    let pixels = u64::from(width) * u64::from(height);
    let out_len = pixels * channels * u64::from(out_bits / 8);
    let needed = row_bytes * u64::from(height) + out_len;
    if needed > limits.max_decoded_bytes {
        return Err(TiffProblem::TooMuchMemory { page, needed });
    }
    let indices = palette_indices(d, data, limits).map_err(|e| match e {
        IndexError::Decode(e) => decode_problem(page, e),
        IndexError::Layout(m) => TiffProblem::Corrupt(at(m)),
    })?;
    let short = || TiffProblem::Corrupt(at("fewer pixels than the page declares".into()));
    let (width_px, rows) = (width as usize, height as usize);
    let stride = match &indices {
        DecodingResult::U8(_) if bits <= 8 => row_bytes as usize,
        DecodingResult::U16(_) if bits == 16 => width_px,
        _ => {
            return Err(TiffProblem::Corrupt(at(
                "palette indices of an odd kind".into()
            )));
        }
    };
    let available = match &indices {
        DecodingResult::U8(v) => v.len(),
        DecodingResult::U16(v) => v.len(),
        _ => 0,
    };
    if available < stride * rows {
        return Err(short());
    }

    let mut samples_out = Vec::with_capacity(usize::try_from(out_len).unwrap_or(0));
    let mut used = vec![false; entries];
    let mut row = Vec::with_capacity(width_px);
    for y in 0..rows {
        row.clear();
        match &indices {
            DecodingResult::U8(v) => {
                unpack_row(&v[y * stride..][..stride], bits, width_px, &mut row)
            }
            DecodingResult::U16(v) => {
                row.extend(v[y * stride..][..width_px].iter().map(|&i| usize::from(i)))
            }
            _ => {}
        }
        for &i in &row {
            let (Some(&r), Some(&g), Some(&b)) = (red.get(i), green.get(i), blue.get(i)) else {
                return Err(TiffProblem::Corrupt(at(format!(
                    "pixel index {i} beyond the {entries} colours of the ColorMap"
                ))));
            };
            used[i] = true;
            let rgb = [r, g, b];
            for &v in &rgb[..channels as usize] {
                if exact8 {
                    samples_out.push((v / 257) as u8);
                } else {
                    samples_out.extend_from_slice(&v.to_be_bytes());
                }
            }
        }
    }
    let in_colour = (0..entries).any(|i| used[i] && !(red[i] == green[i] && green[i] == blue[i]));
    let mut ink = InkMeter::default();
    let row_len = width_px * channels as usize * usize::from(out_bits / 8);
    for row in samples_out.chunks_exact(row_len.max(1)) {
        if out_bits == 16 {
            ink.add_row16(row, colour);
        } else {
            ink.add_row8(row, colour);
        }
    }
    Ok((
        Raster {
            width,
            height,
            colour,
            bits: out_bits,
            samples: Arc::new(samples_out),
            alpha: None,
        },
        ink,
        in_colour,
    ))
}

/// The first `width` indices of a row of `bits`-bit samples, most significant bits first.
fn unpack_row(packed: &[u8], bits: u16, width: usize, out: &mut Vec<usize>) {
    if bits == 8 {
        out.extend(packed.iter().take(width).map(|&b| usize::from(b)));
        return;
    }
    let per_byte = 8 / usize::from(bits);
    let mask = (1u8 << bits) - 1;
    for &byte in packed {
        for k in 0..per_byte {
            if out.len() == width {
                return;
            }
            let shift = 8 - usize::from(bits) * (k + 1);
            out.push(usize::from((byte >> shift) & mask));
        }
    }
}

/// Why the indices of a palette page could not be read.
enum IndexError {
    Decode(tiff::TiffError),
    Layout(String),
}

/// The index samples of the decoder's current (palette) page, rows padded to a byte.
///
/// `tiff` does not decode palette pages, but it decodes their indices as grey samples (any
/// compression, strips or tiles) when the page is presented as grey: a second decoder reads
/// the upload through [`Patched`], which shows this page's directory as the file's first and
/// its PhotometricInterpretation as BlackIsZero. Nothing is copied.
fn palette_indices(
    d: &mut Dec<'_>,
    data: &[u8],
    limits: TiffLimits,
) -> Result<DecodingResult, IndexError> {
    let ifd = d
        .ifd_pointer()
        .ok_or_else(|| IndexError::Layout("no directory for this page".into()))?
        .0;
    let patches = grey_view(data, ifd).map_err(IndexError::Layout)?;
    let view = Patched {
        data,
        pos: 0,
        patches,
    };
    let mut grey = Decoder::new(view)
        .map_err(IndexError::Decode)?
        .with_limits(tiff_limits(limits));
    grey.read_image().map_err(IndexError::Decode)
}

/// The byte patches that present directory `ifd` as the file's first one, with
/// PhotometricInterpretation 1 (BlackIsZero) instead of 3 (palette).
fn grey_view(data: &[u8], ifd: u64) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let big_endian = match data.get(..2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return Err("not a TIFF header".into()),
    };
    let get = |at: usize, n: usize| -> Result<u64, String> {
        let b = data
            .get(at..at.checked_add(n).ok_or("offset out of range")?)
            .ok_or("a directory lies past the end of the file")?;
        Ok(if big_endian {
            b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        } else {
            b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        })
    };
    let put = |value: u64, n: usize| -> Vec<u8> {
        let le = value.to_le_bytes();
        let mut out = le[..n].to_vec();
        if big_endian {
            out.reverse();
        }
        out
    };
    let big = get(2, 2)? == 43;
    let at = usize::try_from(ifd).map_err(|_| "directory offset out of range")?;
    let (count, first, entry_len, value_at, header) = if big {
        (get(at, 8)?, at + 8, 20, 12, (8, put(ifd, 8)))
    } else {
        let ifd32 = u32::try_from(ifd).map_err(|_| "directory offset out of range")?;
        (get(at, 2)?, at + 2, 12, 8, (4, put(u64::from(ifd32), 4)))
    };
    for k in 0..usize::try_from(count).map_err(|_| "too many entries")? {
        let e = k
            .checked_mul(entry_len)
            .and_then(|o| o.checked_add(first))
            .ok_or("directory out of range")?;
        if get(e, 2)? != u64::from(Tag::PhotometricInterpretation.to_u16()) {
            continue;
        }
        let width = match get(e + 2, 2)? {
            3 => 2,         // SHORT
            4 => 4,         // LONG
            16 if big => 8, // LONG8
            other => return Err(format!("PhotometricInterpretation of field type {other}")),
        };
        return Ok(vec![header, (e + value_at, put(1, width))]);
    }
    Err("no PhotometricInterpretation entry".into())
}

/// The upload read through a few replaced bytes (see [`palette_indices`]).
struct Patched<'a> {
    data: &'a [u8],
    pos: u64,
    patches: Vec<(usize, Vec<u8>)>,
}

impl Read for Patched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let start = usize::try_from(self.pos)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        let n = buf.len().min(self.data.len() - start);
        let end = start + n;
        buf[..n].copy_from_slice(&self.data[start..end]);
        for (at, bytes) in &self.patches {
            let (p_start, p_end) = (*at, at + bytes.len());
            let (from, to) = (p_start.max(start), p_end.min(end));
            if from < to {
                buf[from - start..to - start].copy_from_slice(&bytes[from - p_start..to - p_start]);
            }
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Patched<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => (self.data.len() as u64).checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        self.pos = target.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start")
        })?;
        Ok(self.pos)
    }
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
