//! Page images that are not kept as an uploaded JPEG/PNG: decoded samples (embedded with
//! Flate, losslessly) and black-and-white pages as CCITT Group 4 strips (embedded as they
//! are), plus the ink meter used to spot blank pages.

pub use crate::pdf::pages::{Bilevel, Colour, G4Strip, Raster};

/// Darker than this (0..=255 luma) counts as ink.
const INK_LUMA: u32 = 128;
/// A page with less than this share of ink pixels is blank (one short line of text at
/// 300 dpi on A4 is about 0.1 %).
const BLANK_INK_SHARE: f64 = 0.0003;

/// Counts ink pixels to decide whether a page is blank.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct InkMeter {
    ink: u64,
    total: u64,
}

impl InkMeter {
    /// Adds one row of interleaved 8-bit samples in `colour`.
    pub fn add_row8(&mut self, row: &[u8], colour: Colour) {
        let n = colour.channels();
        for px in row.chunks_exact(n) {
            let luma = match colour {
                Colour::Gray => u32::from(px[0]),
                Colour::Rgb => {
                    (u32::from(px[0]) * 77 + u32::from(px[1]) * 150 + u32::from(px[2]) * 29) >> 8
                }
                Colour::Cmyk => {
                    let cmy = px[0].max(px[1]).max(px[2]);
                    (255 - u32::from(px[3])) * (255 - u32::from(cmy)) / 255
                }
            };
            self.ink += u64::from(luma < INK_LUMA);
            self.total += 1;
        }
    }

    /// Adds one row of 16-bit big-endian samples (only the high bytes count).
    pub fn add_row16(&mut self, row: &[u8], colour: Colour) {
        let high: Vec<u8> = row.chunks_exact(2).map(|s| s[0]).collect();
        self.add_row8(&high, colour);
    }

    /// Adds `count` pixels of which `ink` are ink.
    pub fn add_counts(&mut self, ink: u64, count: u64) {
        self.ink += ink;
        self.total += count;
    }

    /// Ink pixels and pixels counted.
    pub fn counts(&self) -> (u64, u64) {
        (self.ink, self.total)
    }

    /// The least ink that makes a page of `total` pixels not blank.
    pub fn ink_needed(total: u64) -> u64 {
        (total as f64 * BLANK_INK_SHARE).ceil().max(1.0) as u64
    }

    /// True when almost nothing is printed on the page.
    pub fn is_blank(&self) -> bool {
        self.total > 0 && (self.ink as f64) < self.total as f64 * BLANK_INK_SHARE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ink_meter_tells_blank_from_written() {
        let mut blank = InkMeter::default();
        let mut written = InkMeter::default();
        for y in 0..100 {
            let row = vec![240u8; 300];
            blank.add_row8(&row, Colour::Rgb);
            let mut row = vec![250u8; 100];
            if y % 10 == 0 {
                row[..20].fill(10);
            }
            written.add_row8(&row, Colour::Gray);
        }
        assert!(blank.is_blank());
        assert!(!written.is_blank());
        assert!(!InkMeter::default().is_blank());
    }
}
