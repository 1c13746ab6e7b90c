//! Lossless page images as `/FlateDecode` streams with PNG predictors
//! (`/DecodeParms << /Predictor 15 /Colors n /BitsPerComponent b /Columns w >>`): each row
//! is stored as the difference to its neighbours (the PNG row filters) before deflating,
//! which on scans is much smaller than deflating the samples themselves.
//!
//! - a PNG upload that is 8-bit grey or RGB, not interlaced, without transparency or an
//!   ICC profile is embedded byte for byte: its `IDAT` data already is such a stream;
//! - decoded samples (TIFF pages) without alpha are filtered row by row (the filter that
//!   leaves the smallest differences, as PNG encoders choose) and deflated here.
//!
//! Anything else (alpha, palette, 16-bit or interlaced PNGs, ICC profiles) is left to
//! krilla. Like JPEGs, these images are drawn as placeholders and put in by
//! [`super::final_write`].

use std::io::Write;

use bytes::Bytes;
use flate2::Compression;
use flate2::write::ZlibEncoder;

use super::pages::Raster;

/// Largest number of `IDAT` chunks taken over from a PNG.
const MAX_IDAT_CHUNKS: usize = 1 << 20;

/// An image already deflated with PNG predictors.
#[derive(Debug, Clone)]
pub struct FlateImage {
    /// The zlib stream, in pieces (a PNG's `IDAT` chunks, or one buffer).
    pub chunks: Vec<Bytes>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Colour components per pixel: 1, 3 or 4.
    pub colours: u8,
    /// Bits per component: 8 or 16.
    pub bits: u8,
}

impl FlateImage {
    /// Length of the stream.
    pub fn len(&self) -> u64 {
        self.chunks.iter().map(|c| c.len() as u64).sum()
    }
}

/// The image data of `png` when it can be embedded as it is (see the module documentation).
pub fn png_as_is(png: &Bytes) -> Option<FlateImage> {
    let mut rest = png.strip_prefix(b"\x89PNG\r\n\x1a\n")?;
    let mut offset = 8usize;
    let mut header = None;
    let mut chunks = Vec::new();
    let mut idat_done = false;
    loop {
        let len = usize::try_from(u32::from_be_bytes(rest.get(..4)?.try_into().ok()?)).ok()?;
        let kind: [u8; 4] = rest.get(4..8)?.try_into().ok()?;
        let body = rest.get(8..8usize.checked_add(len)?)?;
        let total = len.checked_add(12)?;
        match &kind {
            b"IHDR" => {
                let (w, h) = (
                    u32::from_be_bytes(body.get(..4)?.try_into().ok()?),
                    u32::from_be_bytes(body.get(4..8)?.try_into().ok()?),
                );
                // Depth 8; grey (0) or RGB (2); deflate, adaptive filters, not interlaced.
                let colours = match body.get(8..13)? {
                    [8, 0, 0, 0, 0] => 1,
                    [8, 2, 0, 0, 0] => 3,
                    _ => return None,
                };
                header = Some((w, h, colours));
            }
            b"tRNS" | b"iCCP" => return None,
            b"IDAT" => {
                if idat_done || chunks.len() >= MAX_IDAT_CHUNKS {
                    return None;
                }
                let start = offset.checked_add(8)?;
                chunks.push(png.slice(start..start.checked_add(len)?));
            }
            b"IEND" => break,
            _ => {}
        }
        if !chunks.is_empty() && &kind != b"IDAT" {
            idat_done = true;
        }
        rest = rest.get(total..)?;
        offset = offset.checked_add(total)?;
    }
    let (width, height, colours) = header?;
    (!chunks.is_empty() && width > 0 && height > 0).then_some(FlateImage {
        chunks,
        width,
        height,
        colours,
        bits: 8,
    })
}

/// Filters and deflates the samples of `r` (no alpha), or `None` when they do not match
/// its size or it has alpha.
pub fn raster_with_predictors(r: &Raster) -> Option<FlateImage> {
    if r.alpha.is_some() || !matches!(r.bits, 8 | 16) || r.width == 0 || r.height == 0 {
        return None;
    }
    let channels = r.colour.channels();
    let pixel = channels * usize::from(r.bits / 8);
    let row = usize::try_from(r.width).ok()?.checked_mul(pixel)?;
    if r.samples.len() != row.checked_mul(usize::try_from(r.height).ok()?)? {
        return None;
    }
    let mut z = ZlibEncoder::new(
        Vec::with_capacity(r.samples.len() / 4),
        Compression::default(),
    );
    let mut filtered = vec![0u8; row + 1];
    let mut best = vec![0u8; row + 1];
    let zero = vec![0u8; row];
    let mut above: &[u8] = &zero;
    for line in r.samples.chunks_exact(row) {
        let mut best_cost = u64::MAX;
        for filter in 0..5u8 {
            let cost = filter_row(filter, line, above, pixel, &mut filtered);
            if cost < best_cost {
                best_cost = cost;
                std::mem::swap(&mut best, &mut filtered);
            }
        }
        z.write_all(&best).ok()?;
        above = line;
    }
    let data = z.finish().ok()?;
    Some(FlateImage {
        chunks: vec![Bytes::from(data)],
        width: r.width,
        height: r.height,
        colours: u8::try_from(channels).ok()?,
        bits: r.bits,
    })
}

/// Writes `line` filtered with PNG filter `filter` (0 none, 1 sub, 2 up, 3 average,
/// 4 Paeth) to `out` (filter byte first); returns the sum of the differences' magnitudes.
fn filter_row(filter: u8, line: &[u8], above: &[u8], pixel: usize, out: &mut [u8]) -> u64 {
    out[0] = filter;
    let mut cost = 0u64;
    for (i, (&x, &b)) in line.iter().zip(above).enumerate() {
        let a = if i >= pixel { line[i - pixel] } else { 0 };
        let c = if i >= pixel { above[i - pixel] } else { 0 };
        let predicted = match filter {
            0 => 0,
            1 => a,
            2 => b,
            3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
            _ => paeth(a, b, c),
        };
        let d = x.wrapping_sub(predicted);
        out[i + 1] = d;
        cost += u64::from((d as i8).unsigned_abs());
    }
    cost
}

/// The PNG Paeth predictor.
pub fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::pdf::pages::Colour;

    /// Wraps a Flate stream of predicted rows in a PNG file, so that an independent decoder
    /// (the `png` crate) undoes the predictors.
    fn decode_as_png(zlib: &[u8], w: u32, h: u32, channels: usize, bits: u8) -> Vec<u8> {
        let colour_type = match channels {
            1 => 0u8,
            3 => 2,
            _ => 6,
        };
        let mut ihdr = Vec::new();
        ihdr.extend(w.to_be_bytes());
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([bits, colour_type, 0, 0, 0]);
        let mut file = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [(b"IHDR", &ihdr[..]), (b"IDAT", zlib), (b"IEND", &[][..])] {
            file.extend((data.len() as u32).to_be_bytes());
            let mut crc = flate2::Crc::new();
            crc.update(kind);
            crc.update(data);
            file.extend(kind);
            file.extend(data);
            file.extend(crc.sum().to_be_bytes());
        }
        let mut decoder = png::Decoder::new(std::io::Cursor::new(file));
        decoder.set_transformations(png::Transformations::IDENTITY);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let n = reader.next_frame(&mut buf).unwrap().buffer_size();
        buf.truncate(n);
        buf
    }

    #[test]
    fn rasters_round_trip_exactly() {
        for (colour, bits) in [(Colour::Rgb, 8u8), (Colour::Gray, 16), (Colour::Cmyk, 8)] {
            let (w, h) = (37u32, 23u32);
            let pixel = colour.channels() * usize::from(bits / 8);
            let samples: Vec<u8> = (0..w as usize * h as usize * pixel)
                .map(|i| ((i * 7 + i / 13) % 251) as u8)
                .collect();
            let r = Raster {
                width: w,
                height: h,
                colour,
                bits,
                samples: Arc::new(samples.clone()),
                alpha: None,
            };
            let f = raster_with_predictors(&r).unwrap();
            let decoded = decode_as_png(&f.chunks[0], w, h, colour.channels(), bits);
            assert_eq!(decoded, samples, "{colour:?} {bits}-bit");
        }
    }
}
