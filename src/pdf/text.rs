//! Fonts and single-line text: the embedded Liberation Serif faces (SIL OFL, metric-compatible
//! with Times New Roman, full Vietnamese coverage), shaping with rustybuzz so that a line's
//! width is known before it is drawn, and simple word wrapping.
//!
//! Text is normalised to NFC first: precomposed Vietnamese letters map to one glyph each,
//! so the ToUnicode map krilla writes gives back the same NFC text (`pdftotext` finds
//! "Chứng thực bản sao đúng với bản chính" byte for byte).

use std::sync::LazyLock;

use krilla::geom::Point;
use krilla::surface::Surface;
use krilla::text::{Font, GlyphId, KrillaGlyph};
use unicode_normalization::UnicodeNormalization;

static REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/LiberationSerif-Regular.ttf");
static BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/LiberationSerif-Bold.ttf");

/// Which face to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Face {
    /// Liberation Serif Regular.
    Regular,
    /// Liberation Serif Bold.
    Bold,
}

struct Loaded {
    krilla: Font,
    shaper: rustybuzz::Face<'static>,
}

fn load(data: &'static [u8]) -> Option<Loaded> {
    Some(Loaded {
        krilla: Font::new(data.into(), 0)?,
        shaper: rustybuzz::Face::from_slice(data, 0)?,
    })
}

static REGULAR: LazyLock<Option<Loaded>> = LazyLock::new(|| load(REGULAR_TTF));
static BOLD: LazyLock<Option<Loaded>> = LazyLock::new(|| load(BOLD_TTF));

fn loaded(face: Face) -> Result<&'static Loaded, String> {
    match face {
        Face::Regular => REGULAR.as_ref(),
        Face::Bold => BOLD.as_ref(),
    }
    .ok_or_else(|| format!("embedded font {face:?} cannot be parsed"))
}

/// Checks that both embedded fonts load (they are compiled in, so this only fails on a bad build).
pub fn check_fonts() -> Result<(), String> {
    loaded(Face::Regular)?;
    loaded(Face::Bold)?;
    Ok(())
}

/// A shaped line of text, ready to draw.
pub struct Line {
    text: String,
    glyphs: Vec<KrillaGlyph>,
    face: Face,
    size: f32,
    /// Advance width in points.
    pub width: f32,
}

/// Shapes `text` (normalised to NFC) in `face` at `size` points.
pub fn shape(text: &str, face: Face, size: f32) -> Result<Line, String> {
    let text: String = text.nfc().collect();
    let font = loaded(face)?;
    let upem = font.shaper.units_per_em() as f32;
    let mut buffer = rustybuzz::UnicodeBuffer::new();
    buffer.push_str(&text);
    buffer.set_direction(rustybuzz::Direction::LeftToRight);
    buffer.guess_segment_properties();
    let output = rustybuzz::shape(&font.shaper, &[], buffer);
    let infos = output.glyph_infos();
    let positions = output.glyph_positions();
    let mut glyphs = Vec::with_capacity(infos.len());
    let mut advance = 0.0;
    for (i, (info, pos)) in infos.iter().zip(positions).enumerate() {
        let start = info.cluster as usize;
        // A cluster runs to the start of the next different cluster (LTR: clusters ascend).
        let end = infos[i + 1..]
            .iter()
            .map(|next| next.cluster as usize)
            .find(|&c| c != start)
            .unwrap_or(text.len());
        let x_advance = pos.x_advance as f32 / upem;
        advance += x_advance;
        glyphs.push(KrillaGlyph::new(
            GlyphId::new(info.glyph_id),
            x_advance,
            pos.x_offset as f32 / upem,
            pos.y_offset as f32 / upem,
            pos.y_advance as f32 / upem,
            start..end,
            None,
        ));
    }
    Ok(Line {
        text,
        glyphs,
        face,
        size,
        width: advance * size,
    })
}

impl Line {
    /// Draws the line with its baseline starting at (`x`, `baseline`) (krilla coordinates,
    /// y down), in the surface's current fill (black by default).
    pub fn draw(&self, surface: &mut Surface<'_>, x: f32, baseline: f32) -> Result<(), String> {
        let font = loaded(self.face)?;
        surface.draw_glyphs(
            Point::from_xy(x, baseline),
            &self.glyphs,
            font.krilla.clone(),
            &self.text,
            self.size,
            false,
        );
        Ok(())
    }
}

/// Breaks `text` into lines no wider than `max_width` points, at spaces; a single word
/// wider than the limit stays on its own line.
pub fn wrap(text: &str, face: Face, size: f32, max_width: f32) -> Result<Vec<Line>, String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if current.is_empty() || shape(&candidate, face, size)?.width <= max_width {
            current = candidate;
        } else {
            lines.push(shape(&current, face, size)?);
            current = word.to_owned();
        }
    }
    if !current.is_empty() {
        lines.push(shape(&current, face, size)?);
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_vietnamese_without_notdef() {
        let line = shape(
            "Chứng thực bản sao đúng với bản chính.",
            Face::Regular,
            10.0,
        )
        .unwrap();
        assert!(line.glyphs.iter().all(|g| g.glyph_id.to_u32() != 0));
        assert!(line.width > 100.0 && line.width < 250.0, "{}", line.width);
    }

    #[test]
    fn normalises_to_nfc() {
        let nfd: String = "Chứng thực".nfd().collect();
        let line = shape(&nfd, Face::Bold, 12.0).unwrap();
        assert_eq!(line.text, "Chứng thực");
    }

    #[test]
    fn wraps_long_text() {
        let lines = wrap(
            "một hai ba bốn năm sáu bảy tám chín mười",
            Face::Regular,
            12.0,
            60.0,
        )
        .unwrap();
        assert!(lines.len() > 2);
        assert!(
            lines
                .iter()
                .all(|l| l.width <= 60.0 || !l.text.contains(' '))
        );
    }
}
