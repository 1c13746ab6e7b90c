//! CCITT Group 4 (T.6) coding of black-and-white pages, with the `fax` crate: decoding to
//! check a strip and measure its ink, encoding 1-bit pixels that arrived in another form.
//! Pixel convention here: one byte per pixel, 1 = white (coded "white" run), 0 = black.

use fax::{Color, VecWriter, decoder, encoder::Encoder};

/// Largest width G4 (as implemented) can code.
pub const MAX_WIDTH: u32 = u16::MAX as u32;

/// What decoding a strip found: rows decoded and black ("coded black") pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripFacts {
    /// Rows decoded.
    pub rows: u32,
    /// Pixels coded black.
    pub black: u64,
}

/// Decodes a strip of `rows` rows of `width` pixels, calling `row` with each line of
/// pixels (1 = white). Fails when the data ends early or is not valid G4.
pub fn decode_strip(
    data: &[u8],
    width: u32,
    rows: u32,
    mut row: impl FnMut(&[u8]),
) -> Result<StripFacts, String> {
    let w = u16::try_from(width).map_err(|_| format!("width {width} is too large for G4"))?;
    let h = u16::try_from(rows).map_err(|_| format!("{rows} rows are too many for G4"))?;
    let mut line = vec![1u8; width as usize];
    let mut facts = StripFacts { rows: 0, black: 0 };
    let mut decoded_rows = 0u32;
    let ok = decoder::decode_g4(data.iter().copied(), w, Some(h), |transitions| {
        decoded_rows += 1;
        for (px, colour) in line.iter_mut().zip(decoder::pels(transitions, w)) {
            *px = u8::from(colour == Color::White);
        }
        facts.black += line.iter().filter(|&&p| p == 0).count() as u64;
        row(&line);
    });
    if ok.is_none() {
        return Err("the black-and-white (CCITT G4) data is damaged".into());
    }
    facts.rows = decoded_rows;
    Ok(facts)
}

/// Encodes `height` rows of `width` pixels (one byte each, 1 = white) as one G4 strip.
pub fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, String> {
    let w = u16::try_from(width).map_err(|_| format!("width {width} is too large for G4"))?;
    if pixels.len() != width as usize * height as usize {
        return Err("pixel buffer does not match the image size".into());
    }
    let mut enc = Encoder::new(VecWriter::new());
    for line in pixels.chunks_exact(width as usize) {
        let pels = line
            .iter()
            .map(|&p| if p != 0 { Color::White } else { Color::Black });
        enc.encode_line(pels, w)
            .map_err(|_| "G4 encoding failed".to_string())?;
    }
    let mut writer = enc.finish().map_err(|_| "G4 encoding failed".to_string())?;
    writer.pad();
    Ok(writer.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_then_decode_is_pixel_exact() {
        let (w, h) = (77u32, 31u32);
        let pixels: Vec<u8> = (0..w * h)
            .map(|i| u8::from((i % w / 5 + i / w / 3) % 3 != 0))
            .collect();
        let coded = encode(&pixels, w, h).unwrap();
        let mut back = Vec::new();
        let facts = decode_strip(&coded, w, h, |row| back.extend_from_slice(row)).unwrap();
        assert_eq!(facts.rows, h);
        assert_eq!(back, pixels);
        assert_eq!(
            facts.black,
            pixels.iter().filter(|&&p| p == 0).count() as u64
        );
    }
}
