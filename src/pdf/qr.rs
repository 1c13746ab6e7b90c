//! QR code drawn as vector rectangles (one per horizontal run of dark modules), so it stays
//! sharp at any zoom and needs no image.

use krilla::geom::{PathBuilder, Rect};
use krilla::surface::Surface;
use qrcode::{Color, EcLevel, QrCode};

/// Modules of white margin that readers need around the symbol.
pub const QUIET_ZONE: usize = 4;

/// A QR symbol as a square grid of dark (`true`) and light modules.
pub struct QrSymbol {
    width: usize,
    dark: Vec<bool>,
}

impl QrSymbol {
    /// Encodes `payload` exactly (byte mode as needed) with error correction level M.
    pub fn encode(payload: &str) -> Result<Self, String> {
        let code =
            QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|e| {
                format!(
                    "QR payload of {} bytes cannot be encoded: {e}",
                    payload.len()
                )
            })?;
        Ok(Self {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Draws the symbol with its top-left module at (`x`, `y`) (krilla coordinates, y down),
    /// `size` points wide (quiet zone not included: keep it free around the symbol).
    pub fn draw(&self, surface: &mut Surface<'_>, x: f32, y: f32, size: f32) {
        let module = size / self.width as f32;
        let mut path = PathBuilder::new();
        for row in 0..self.width {
            let mut col = 0;
            while col < self.width {
                if !self.dark[row * self.width + col] {
                    col += 1;
                    continue;
                }
                let start = col;
                while col < self.width && self.dark[row * self.width + col] {
                    col += 1;
                }
                if let Some(rect) = Rect::from_xywh(
                    x + start as f32 * module,
                    y + row as f32 * module,
                    (col - start) as f32 * module,
                    module,
                ) {
                    path.push_rect(rect);
                }
            }
        }
        if let Some(path) = path.finish() {
            // The default fill is opaque black with the non-zero rule; runs never overlap.
            surface.set_fill(Some(krilla::paint::Fill::default()));
            surface.draw_path(&path);
        }
    }
}
