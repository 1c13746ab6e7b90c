//! Text documents as PDF/A-2b on A4 (the printed certification book, notices): headings,
//! wrapped paragraphs and table rows, paginated, in the embedded Liberation Serif faces.

use krilla::configure::{Archival, ConfigurationBuilder};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::{Document, SerializeSettings};

use super::PdfError;
use super::assemble::krilla_date;
use super::text::{self, Face};

const A4: (f32, f32) = (595.0, 842.0);
const MARGIN: f32 = 48.0;

/// One block of a text document.
#[derive(Clone, Debug)]
pub enum Block {
    /// A bold line, centred.
    Heading(String),
    /// Wrapped text.
    Paragraph(String),
    /// A table row: (column width in points, text) per cell, each cell wrapped; `bold` for
    /// a header row.
    Row {
        /// The cells.
        cells: Vec<(f32, String)>,
        /// Header row.
        bold: bool,
    },
    /// Vertical space in points.
    Space(f32),
}

/// A text document to render.
#[derive(Clone, Debug)]
pub struct TextDocument {
    /// Title (XMP and Info).
    pub title: String,
    /// Author: the agency.
    pub author: String,
    /// Document id (XMP).
    pub id: String,
    /// Creation time.
    pub created: time::OffsetDateTime,
    /// The content, in order.
    pub blocks: Vec<Block>,
}

/// An empty krilla document that writes PDF/A-2b (untagged), as every text document is.
pub(super) fn pdfa_document() -> Result<Document, PdfError> {
    let configuration = ConfigurationBuilder::new()
        .with_archival_validator(Archival::A2_B)
        .finish()
        .map_err(|e| PdfError::Export(format!("{e:?}")))?;
    Ok(Document::new_with(SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    }))
}

fn text_err(e: String) -> PdfError {
    PdfError::Text(e)
}

/// Renders `doc` as a PDF/A-2b file.
pub fn text_document(doc: &TextDocument) -> Result<Vec<u8>, PdfError> {
    text::check_fonts().map_err(text_err)?;
    let mut pdf = pdfa_document()?;
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .authors(vec![doc.author.clone()])
            .language("vi".into())
            .creator("saoy".into())
            .creation_date(krilla_date(doc.created))
            .document_id(doc.id.clone()),
    );
    // Lay out first: lines with their page and baseline.
    let mut pages: Vec<Vec<(text::Line, f32, f32)>> = vec![Vec::new()];
    let mut y = MARGIN;
    let width = A4.0 - 2.0 * MARGIN;
    let place = |pages: &mut Vec<Vec<(text::Line, f32, f32)>>,
                 y: &mut f32,
                 height: f32,
                 lines: Vec<(text::Line, f32, f32)>| {
        if *y + height > A4.1 - MARGIN && !pages.last().is_none_or(Vec::is_empty) {
            pages.push(Vec::new());
            *y = MARGIN;
        }
        let top = *y;
        if let Some(page) = pages.last_mut() {
            page.extend(lines.into_iter().map(|(l, x, dy)| (l, x, top + dy)));
        }
        *y += height;
    };
    for block in &doc.blocks {
        match block {
            Block::Space(h) => y += h,
            Block::Heading(t) => {
                let line = text::shape(t, Face::Bold, 13.0).map_err(text_err)?;
                let x = MARGIN + (width - line.width).max(0.0) / 2.0;
                place(&mut pages, &mut y, 20.0, vec![(line, x, 14.0)]);
            }
            Block::Paragraph(t) => {
                for line in text::wrap(t, Face::Regular, 11.0, width).map_err(text_err)? {
                    place(&mut pages, &mut y, 15.0, vec![(line, MARGIN, 11.0)]);
                }
            }
            Block::Row { cells, bold } => {
                let face = if *bold { Face::Bold } else { Face::Regular };
                let mut x = MARGIN;
                let mut lines = Vec::new();
                let mut rows = 1usize;
                for (w, t) in cells {
                    let wrapped =
                        text::wrap(t, face, 8.5, (w - 4.0).max(10.0)).map_err(text_err)?;
                    rows = rows.max(wrapped.len());
                    for (i, line) in wrapped.into_iter().enumerate() {
                        lines.push((line, x, 9.0 + 10.5 * i as f32));
                    }
                    x += w;
                }
                place(&mut pages, &mut y, 10.5 * rows as f32 + 4.0, lines);
            }
        }
    }
    let settings =
        PageSettings::from_wh(A4.0, A4.1).ok_or_else(|| PdfError::Export("A4 refused".into()))?;
    for page in pages {
        let mut p = pdf.start_page_with(settings.clone());
        let mut surface = p.surface();
        for (line, x, baseline) in page {
            line.draw(&mut surface, x, baseline).map_err(text_err)?;
        }
        surface.finish();
        p.finish();
    }
    pdf.finish()
        .map_err(|e| PdfError::Export(format!("the text document cannot be written: {e:?}")))
}
