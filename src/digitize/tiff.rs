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
    let view = View {
        page,
        width,
        height,
        padded: if tiled {
            Some(check_tile(d, page, width, height, limits)?)
        } else {
            None
        },
        palette: photometric == Some(PALETTE),
    };

    let base = |image, colour, ink| TiffPage {
        image,
        width,
        height,
        density,
        orientation,
        colour,
        ink,
    };

    if view.palette {
        let (raster, ink, colour) = palette_page(d, data, view, limits)?;
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
    let (decoded_w, decoded_h) = view.decoded_size();
    let needed =
        u64::from(decoded_w) * u64::from(decoded_h) * channels * u64::from(bits).div_ceil(8).max(1);
    if needed > limits.max_decoded_bytes {
        return Err(TiffProblem::TooMuchMemory { page, needed });
    }
    let decoded = decode(d, data, view, u64::from(bits) * channels, limits)?;
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

/// How the samples of the current page are decoded (see [`decode`]).
#[derive(Debug, Clone, Copy)]
struct View {
    /// Page index.
    page: usize,
    /// Image width.
    width: u32,
    /// Image height.
    height: u32,
    /// Tiled pages: the image size rounded up to whole tiles.
    padded: Option<(u32, u32)>,
    /// Palette pages: the indices are read as grey samples.
    palette: bool,
}

impl View {
    /// The size of the buffer the decoder fills.
    fn decoded_size(&self) -> (u32, u32) {
        self.padded.unwrap_or((self.width, self.height))
    }

    fn problem(&self, message: impl std::fmt::Display) -> TiffProblem {
        TiffProblem::Corrupt(format!("page {}: {message}", self.page + 1))
    }
}

/// A decoding error: unsupported variants as such, a limit of `tiff` as a memory problem,
/// the rest as damage.
fn decode_problem(page: usize, e: tiff::TiffError, limits: TiffLimits) -> TiffProblem {
    match e {
        tiff::TiffError::UnsupportedError(_) => {
            TiffProblem::Unsupported(format!("page {}: {e}", page + 1))
        }
        tiff::TiffError::LimitsExceeded => TiffProblem::TooMuchMemory {
            page,
            needed: limits.max_decoded_bytes.saturating_add(1),
        },
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

/// Checks the tiles of a tiled page and returns the image size rounded up to whole tiles.
/// One tile must fit the decode budget: a decoder may hold a whole tile (JPEG tiles are
/// decoded whole), whatever the size of the image.
fn check_tile(
    d: &mut Dec<'_>,
    page: usize,
    width: u32,
    height: u32,
    limits: TiffLimits,
) -> Result<(u32, u32), TiffProblem> {
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
    let round_up =
        |size: u32, tile: u32| u32::try_from(u64::from(size.div_ceil(tile)) * u64::from(tile));
    match (round_up(width, tile_w), round_up(height, tile_h)) {
        (Ok(w), Ok(h)) => Ok((w, h)),
        _ => Err(TiffProblem::Unsupported(format!(
            "page {}: {width} × {height} pixels in tiles of {tile_w} × {tile_h}",
            page + 1
        ))),
    }
}

/// Decodes the current page's samples (`bits_per_pixel` bits per pixel, rows padded to a
/// byte for packed samples), cropped to the image.
///
/// Plain strip pages are read by `tiff` as they are. The others are read by a second
/// decoder through [`Patched`], a view of the upload with a few bytes replaced (nothing is
/// copied) that shows this page's directory as the file's first and:
/// - palette pages as grey (PhotometricInterpretation 1): `tiff` does not decode palette
///   pages but decodes their indices as grey samples, any compression, strips or tiles;
/// - tiled pages with their size rounded up to whole tiles, so that every tile is read whole
///   (`tiff` 0.11 loses its place in an LZW tile it reads only in part) and the padding is
///   cropped here.
fn decode(
    d: &mut Dec<'_>,
    data: &[u8],
    view: View,
    bits_per_pixel: u64,
    limits: TiffLimits,
) -> Result<DecodingResult, TiffProblem> {
    let problem = |e| decode_problem(view.page, e, limits);
    if !view.palette && view.padded.is_none() {
        return d.read_image().map_err(problem);
    }
    let mut set = Vec::new();
    if view.palette {
        set.push((Tag::PhotometricInterpretation, 1));
    }
    if let Some((w, h)) = view.padded {
        set.push((Tag::ImageWidth, w));
        set.push((Tag::ImageLength, h));
    }
    let ifd = d
        .ifd_pointer()
        .ok_or_else(|| view.problem("no directory"))?
        .0;
    let patches = patches_for(data, ifd, &set).map_err(|m| view.problem(m))?;
    let mut decoder = Decoder::new(Patched {
        data,
        pos: 0,
        patches,
    })
    .map_err(problem)?
    .with_limits(tiff_limits(limits));
    let mut decoded = decoder.read_image().map_err(problem)?;
    if let Some((padded_w, padded_h)) = view.padded {
        let ok = match &mut decoded {
            DecodingResult::U8(v) => crop(
                v,
                (u64::from(padded_w) * bits_per_pixel).div_ceil(8),
                (u64::from(view.width) * bits_per_pixel).div_ceil(8),
                padded_h,
                view.height,
            ),
            DecodingResult::U16(v) => crop(
                v,
                u64::from(padded_w) * bits_per_pixel / 16,
                u64::from(view.width) * bits_per_pixel / 16,
                padded_h,
                view.height,
            ),
            _ => true,
        };
        if !ok {
            return Err(view.problem("fewer samples than the tiles declare"));
        }
    }
    Ok(decoded)
}

/// Keeps the first `row` elements of the first `rows` rows of `padded_row` elements, in
/// place; false when `v` is shorter than `padded_rows` rows.
fn crop<T: Copy>(v: &mut Vec<T>, padded_row: u64, row: u64, padded_rows: u32, rows: u32) -> bool {
    let (Ok(padded_row), Ok(row)) = (usize::try_from(padded_row), usize::try_from(row)) else {
        return false;
    };
    let (padded_rows, rows) = (padded_rows as usize, rows as usize);
    if row > padded_row || v.len() < padded_row.saturating_mul(padded_rows) {
        return false;
    }
    for y in 1..rows {
        v.copy_within(y * padded_row..y * padded_row + row, y * row);
    }
    v.truncate(row * rows);
    true
}

/// A palette page expanded through its colour map; the flag says whether a colour that is
/// not grey is used.
fn palette_page(
    d: &mut Dec<'_>,
    data: &Bytes,
    view: View,
    limits: TiffLimits,
) -> Result<(Raster, InkMeter, bool), TiffProblem> {
    let page = view.page;
    let (width, height) = (view.width, view.height);
    let at = |m: String| format!("page {}: {m}", page + 1);
    let problem = |e| decode_problem(page, e, limits);
    let (bits, samples) = sample_layout(d).map_err(problem)?;
    if samples != 1 || !matches!(bits, 1 | 2 | 4 | 8 | 16) {
        return Err(TiffProblem::Unsupported(at(format!(
            "palette pixels of {samples} samples of {bits} bits"
        ))));
    }
    let map = d
        .find_tag_unsigned_vec::<u16>(Tag::ColorMap)
        .map_err(problem)?
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
    let is_grey = |i: usize| red[i] == green[i] && green[i] == blue[i];
    let grey = (0..entries).all(is_grey);
    let exact8 = map.iter().all(|v| v % 257 == 0);
    let (colour, channels) = if grey {
        (Colour::Gray, 1u64)
    } else {
        (Colour::Rgb, 3)
    };
    let out_bits: u8 = if exact8 { 8 } else { 16 };

    let (decoded_w, decoded_h) = view.decoded_size();
    let out_len = u64::from(width) * u64::from(height) * channels * u64::from(out_bits / 8);
    let needed =
        (u64::from(decoded_w) * u64::from(bits)).div_ceil(8) * u64::from(decoded_h) + out_len;
    if needed > limits.max_decoded_bytes {
        return Err(TiffProblem::TooMuchMemory { page, needed });
    }
    let indices = decode(d, data, view, u64::from(bits), limits)?;
    let (width_px, rows) = (width as usize, height as usize);
    let stride = match &indices {
        DecodingResult::U8(_) if bits <= 8 => (width_px * usize::from(bits)).div_ceil(8),
        DecodingResult::U16(_) if bits == 16 => width_px,
        _ => return Err(view.problem("palette indices of an odd kind")),
    };
    let available = match &indices {
        DecodingResult::U8(v) => v.len(),
        DecodingResult::U16(v) => v.len(),
        _ => 0,
    };
    if available < stride * rows {
        return Err(view.problem("fewer pixels than the page declares"));
    }

    let mut samples_out = Vec::with_capacity(usize::try_from(out_len).unwrap_or(0));
    let mut used = vec![false; entries];
    let mut row = Vec::with_capacity(width_px);
    for y in 0..rows {
        row.clear();
        match &indices {
            DecodingResult::U8(v) => {
                unpack_row(&v[y * stride..][..stride], bits, width_px, &mut row);
            }
            DecodingResult::U16(v) => {
                row.extend(v[y * stride..][..width_px].iter().map(|&i| usize::from(i)));
            }
            _ => {}
        }
        for &i in &row {
            let (Some(&r), Some(&g), Some(&b)) = (red.get(i), green.get(i), blue.get(i)) else {
                return Err(view.problem(format!(
                    "pixel index {i} beyond the {entries} colours of the ColorMap"
                )));
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
    let in_colour = (0..entries).any(|i| used[i] && !is_grey(i));
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

/// The byte patches that present directory `ifd` as the file's first one, with each tag of
/// `set` (which must be in that directory, as one SHORT, LONG or LONG8) holding its value.
fn patches_for(data: &[u8], ifd: u64, set: &[(Tag, u32)]) -> Result<Vec<(usize, Vec<u8>)>, String> {
    let big_endian = match data.get(..2) {
        Some(b"MM") => true,
        Some(b"II") => false,
        _ => return Err("not a TIFF header".into()),
    };
    let get = |at: usize, n: usize| -> Result<u64, String> {
        let b = at
            .checked_add(n)
            .and_then(|end| data.get(at..end))
            .ok_or("a directory lies past the end of the file")?;
        Ok(if big_endian {
            b.iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        } else {
            b.iter().rev().fold(0u64, |acc, &x| acc << 8 | u64::from(x))
        })
    };
    let put = |value: u64, n: usize| -> Vec<u8> {
        let mut out = value.to_le_bytes()[..n].to_vec();
        if big_endian {
            out.reverse();
        }
        out
    };
    let big = get(2, 2)? == 43;
    let at = usize::try_from(ifd).map_err(|_| "directory offset out of range")?;
    let (count, first, entry_len, value_at) = if big {
        (get(at, 8)?, at.saturating_add(8), 20, 12)
    } else {
        (get(at, 2)?, at.saturating_add(2), 12, 8)
    };
    let mut patches = vec![if big {
        (8, put(ifd, 8))
    } else {
        let ifd32 = u32::try_from(ifd).map_err(|_| "directory offset out of range")?;
        (4, put(u64::from(ifd32), 4))
    }];
    for &(tag, value) in set {
        let mut found = false;
        for k in 0..usize::try_from(count).map_err(|_| "too many directory entries")? {
            let e = k
                .checked_mul(entry_len)
                .and_then(|o| o.checked_add(first))
                .ok_or("directory out of range")?;
            if get(e, 2)? != u64::from(tag.to_u16()) {
                continue;
            }
            let size = match get(e + 2, 2)? {
                3 if value <= u32::from(u16::MAX) => 2,
                4 => 4,
                16 if big => 8,
                other => return Err(format!("{tag:?} of field type {other} for {value}")),
            };
            if get(e + 4, if big { 8 } else { 4 })? != 1 {
                return Err(format!("{tag:?} holds more than one value"));
            }
            patches.push((e + value_at, put(u64::from(value), size)));
            found = true;
            break;
        }
        if !found {
            return Err(format!("no {tag:?} entry"));
        }
    }
    Ok(patches)
}

/// The upload read through a few replaced bytes (see [`decode`]).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crop_keeps_the_image_part_of_padded_rows() {
        let mut v: Vec<u8> = (0..12).collect();
        assert!(crop(&mut v, 4, 3, 3, 2));
        assert_eq!(v, vec![0, 1, 2, 4, 5, 6]);
        let mut short: Vec<u16> = vec![0; 5];
        assert!(!crop(&mut short, 4, 3, 2, 2));
        let mut wider: Vec<u8> = vec![0; 8];
        assert!(!crop(&mut wider, 2, 3, 2, 2));
    }

    #[test]
    fn rows_of_packed_indices_unpack_most_significant_first() {
        let mut out = Vec::new();
        unpack_row(&[0b1011_0100, 0b1100_0000], 2, 5, &mut out);
        assert_eq!(out, vec![2, 3, 1, 0, 3]);
        out.clear();
        unpack_row(&[0xA5], 4, 2, &mut out);
        assert_eq!(out, vec![10, 5]);
        out.clear();
        unpack_row(&[0b1000_0001], 1, 8, &mut out);
        assert_eq!(out, vec![1, 0, 0, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn patches_name_what_they_cannot_change() {
        assert!(patches_for(b"XX", 8, &[]).is_err());
        // A little-endian header whose directory lies past the end.
        let header = b"II*\0\x08\0\0\0";
        assert!(patches_for(header, 8, &[]).is_err());
        // One entry: ImageWidth as a SHORT.
        let mut tif = header.to_vec();
        tif.extend_from_slice(&1u16.to_le_bytes());
        tif.extend_from_slice(&256u16.to_le_bytes());
        tif.extend_from_slice(&3u16.to_le_bytes());
        tif.extend_from_slice(&1u32.to_le_bytes());
        tif.extend_from_slice(&[10, 0, 0, 0]);
        let p = patches_for(&tif, 8, &[(Tag::ImageWidth, 16)]).unwrap();
        assert_eq!(p, vec![(4, vec![8, 0, 0, 0]), (18, vec![16, 0])]);
        let err = patches_for(&tif, 8, &[(Tag::ImageWidth, 70_000)]).unwrap_err();
        assert!(err.contains("ImageWidth"), "{err}");
        let err = patches_for(&tif, 8, &[(Tag::ImageLength, 16)]).unwrap_err();
        assert!(err.contains("ImageLength"), "{err}");
        // Read through the patches.
        let mut view = Patched {
            data: &tif,
            pos: 0,
            patches: p,
        };
        let mut all = Vec::new();
        view.read_to_end(&mut all).unwrap();
        assert_eq!(&all[18..20], &[16, 0]);
        view.seek(SeekFrom::Start(17)).unwrap();
        let mut two = [0u8; 2];
        view.read_exact(&mut two).unwrap();
        assert_eq!(two, [0, 16]);
        assert!(view.seek(SeekFrom::Current(-100)).is_err());
    }
}
