//! The invisible OCR text layer: each recognised word is drawn at its place over the scan,
//! fully transparent, stretched to its box, so readers can search, select and copy it.

use krilla::geom::Transform;
use krilla::num::NormalizedF32;
use krilla::paint::Fill;
use krilla::surface::Surface;

use super::pages::PageText;
use super::text::{self, Face};

/// Draws `page_text` onto a surface where the stored image spans `(0, 0)..(w, h)` points.
pub fn draw(surface: &mut Surface<'_>, page_text: &PageText, w: f32, h: f32) -> Result<(), String> {
    if page_text.width == 0 || page_text.height == 0 || page_text.words.is_empty() {
        return Ok(());
    }
    let sx = w / page_text.width as f32;
    let sy = h / page_text.height as f32;
    surface.set_fill(Some(Fill {
        opacity: NormalizedF32::ZERO,
        ..Fill::default()
    }));
    for word in &page_text.words {
        let box_w = (word.x1.saturating_sub(word.x0)) as f32 * sx;
        let box_h = (word.y1.saturating_sub(word.y0)) as f32 * sy;
        if box_w <= 0.0 || box_h <= 0.0 || word.text.trim().is_empty() {
            continue;
        }
        let size = box_h.clamp(1.0, 200.0);
        let line = text::shape(&word.text, Face::Regular, size)?;
        if line.width <= 0.0 {
            continue;
        }
        let stretch = box_w / line.width;
        let baseline = word.y1 as f32 * sy - size * 0.2;
        surface.push_transform(&Transform::from_row(
            stretch,
            0.0,
            0.0,
            1.0,
            word.x0 as f32 * sx,
            baseline,
        ));
        let drawn = line.draw(surface, 0.0, 0.0);
        surface.pop();
        drawn?;
    }
    surface.set_fill(Some(Fill::default()));
    Ok(())
}
