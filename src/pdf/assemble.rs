//! Builds the certified copy PDF from the digitised original (krilla).
//!
//! Layout:
//! - every page of the original becomes one page, in order. A scan's page size follows its
//!   resolution (`width_pt = px / dpi × 72`), shown upright per its EXIF orientation; the
//!   JPEG bytes are embedded unchanged (DCTDecode), PNG losslessly (Flate). Pages of an
//!   uploaded PDF are embedded as they are, at their own size;
//! - page 1 carries the copy stamp of NĐ 30/2020 (Phụ lục I, Phần II, mục I.3): text only,
//!   top right, Liberation Serif (Times New Roman metrics) 10 pt, black, no background so
//!   nothing of the original is hidden. Its box is [`AssembledCopy::stamp_area`], where the
//!   agency's signature widget goes;
//! - a final A4 page is ALWAYS added for the certification block (lời chứng): statement,
//!   reference number and book, date, "NGƯỜI THỰC HIỆN CHỨNG THỰC", the certifier's title,
//!   a box for the certifier's signature ([`AssembledCopy::certification_area`]), the
//!   certifier's name, the agency, and a QR code of [`CopyContent::qr_payload`] with a
//!   caption. (Fitting the block under the last scanned page would need free-space
//!   detection; a separate page is simpler and always legible.)
//!
//! Page images are drawn as tiny placeholders and put in after krilla's export, so that
//! their bytes are written once: grey and colour JPEGs as uploaded, plain PNGs as their own
//! `IDAT` data and decoded TIFF samples deflated here, both with PNG predictors, CCITT G4
//! strips as they are (`final_write`, `flate`, `g4`); the final pass also writes the file
//! compactly. Alpha, palette or ICC-tagged PNGs and CMYK JPEGs are left to krilla. When the
//! digitised original carries OCR text, an invisible text layer lies over each scan.
//! [`assemble_scan`] builds the same pages without stamp or certification page (batch
//! digitisation); [`assemble_scan_to`] writes them to any sink, reading JPEG pages from
//! their files as it goes; [`assemble_with`] adds the record's key facts to the XMP
//! keywords.
//!
//! The document is exported as PDF/A-2b when [`CopyContent::pdfa`] is set and the original
//! has no PDF pages (krilla cannot vouch for embedded PDF content), and when krilla's
//! validator accepts it (e.g. a CMYK JPEG without ICC profile is not); otherwise as plain
//! PDF 1.7 (or newer if an embedded PDF needs it). [`AssembledCopy::pdfa`] tells which.

use std::num::NonZeroU64;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use krilla::configure::{Archival, ConfigurationBuilder, PdfVersion};
use krilla::error::KrillaError;
use krilla::geom::{Size, Transform};
use krilla::image::Image;
use krilla::metadata::{DateTime, Metadata};
use krilla::page::PageSettings;
use krilla::pdf::{Pdf, PdfDocument};
use krilla::surface::Surface;
use krilla::{Document, SerializeSettings};

use super::PdfError;
use super::final_write::{self, FinalWriteError, Images, JpegBytes, JpegRef};
use super::flate::{self, FlateImage};
use super::g4::{self, StripRef};
use super::images::{flate_placeholder, jpeg_placeholder, placeholder, raster_image, shared};
use super::pages::{Digitized, DigitizedFiles, FileJpeg, Page, PageImage};
use super::qr::{QUIET_ZONE, QrSymbol};
use super::text::{self, Face, Line};
use super::textlayer;

/// Text of the certified copy; every string is drawn as given (normalised to NFC).
#[derive(Debug, Clone)]
pub struct CopyContent {
    /// Identifier of the copy (shown in the QR caption).
    pub copy_id: String,
    /// Exact text the QR code encodes (the copy id).
    pub qr_payload: String,
    /// Certification statement, e.g. "Chứng thực bản sao đúng với bản chính."
    pub statement: String,
    /// Number and book, e.g. "Số chứng thực: 12, quyển số 01/2026-SCT/BS".
    pub reference: String,
    /// Date line, e.g. "Ngày 24 tháng 11 năm 2026".
    pub date_line: String,
    /// Certifier's title (chức danh); empty to leave out.
    pub certifier_title: String,
    /// Certifier's full name; empty to leave out.
    pub certifier_name: String,
    /// Certifying agency.
    pub agency: String,
    /// Copy stamp for page 1, top right: copy type, agency, signing time (ISO 8601 with
    /// +07:00), drawn as given.
    pub stamp_lines: Vec<String>,
    /// Document title (metadata).
    pub title: String,
    /// The signing time: dates the document metadata (the stamp's text is never parsed).
    pub signing_time: time::OffsetDateTime,
    /// Ask for PDF/A-2b (granted only when possible, see [`AssembledCopy::pdfa`]).
    pub pdfa: bool,
}

/// What else goes into the copy's metadata.
#[derive(Debug, Clone, Default)]
pub struct ArchiveFacts {
    /// Key facts of the record, written to the XMP keywords as `name: value`, e.g.
    /// ("Loại giấy tờ", "Giấy khai sinh"), ("Mã TTHC", "1.001234").
    pub facts: Vec<(String, String)>,
}

/// Metadata of a digitised original built without certification (batch digitisation).
#[derive(Debug, Clone)]
pub struct ScanContent {
    /// Identifier (XMP document id).
    pub id: String,
    /// Title.
    pub title: String,
    /// Who digitised it (XMP creator).
    pub agency: String,
    /// Key facts for the XMP keywords.
    pub facts: Vec<(String, String)>,
    /// Ask for PDF/A-2b.
    pub pdfa: bool,
    /// When it was digitised (the document's creation date).
    pub created: time::OffsetDateTime,
}

/// A built digitised original (no signatures expected).
#[derive(Debug, Clone)]
pub struct AssembledScan {
    /// The PDF bytes.
    pub pdf: Vec<u8>,
    /// Pages.
    pub page_count: usize,
    /// True when exported and validated as PDF/A-2b.
    pub pdfa: bool,
}

/// A rectangle on one page, for a signature widget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Area {
    /// 0-based page index.
    pub page_index: usize,
    /// PDF user space, points from the bottom-left corner: llx, lly, urx, ury.
    pub rect: [f32; 4],
}

/// The built, unsigned copy.
#[derive(Debug, Clone)]
pub struct AssembledCopy {
    /// The PDF bytes.
    pub pdf: Vec<u8>,
    /// Box of the copy stamp on page 1 (agency signature).
    pub stamp_area: Area,
    /// Signature box in the certification block on the last page (certifier signature).
    pub certification_area: Area,
    /// Pages in the copy: the original's pages plus the certification page.
    pub page_count: usize,
    /// True when the file was exported and validated as PDF/A-2b.
    pub pdfa: bool,
}

/// A4 in points.
const A4: (f32, f32) = (595.276, 841.89);
/// Largest page side most readers accept (PDF 1.7 Annex C), in points.
const MAX_PAGE_SIDE: f32 = 14_400.0;
/// Copy stamp font size (NĐ 30/2020: 10 pt).
const STAMP_SIZE: f32 = 10.0;
/// QR code side, points (about 34 mm).
const QR_SIDE: f32 = 96.0;

/// Builds the certified copy; see the module documentation for the layout.
pub fn assemble(d: &Digitized, c: &CopyContent) -> Result<AssembledCopy, PdfError> {
    assemble_with(d, c, &ArchiveFacts::default())
}

/// Builds the certified copy with the record's key facts in its metadata.
pub fn assemble_with(
    d: &Digitized,
    c: &CopyContent,
    facts: &ArchiveFacts,
) -> Result<AssembledCopy, PdfError> {
    text::check_fonts().map_err(PdfError::Text)?;
    let qr = QrSymbol::encode(&c.qr_payload).map_err(PdfError::QrCode)?;
    let meta = copy_metadata(c, &facts.facts);
    let job = Job {
        d,
        files: None,
        cert: Some((c, &qr)),
        meta: &meta,
    };
    let built = export(&job, c.pdfa)?;
    let (stamp_area, cert_area, page_count, pdfa) = (
        built.stamp_area,
        built.cert_area,
        built.page_count,
        built.pdfa,
    );
    Ok(AssembledCopy {
        pdf: built.into_vec()?,
        stamp_area: stamp_area.unwrap_or(Area {
            page_index: 0,
            rect: [0.0; 4],
        }),
        certification_area: cert_area.unwrap_or(Area {
            page_index: d.pages.len(),
            rect: [0.0; 4],
        }),
        page_count,
        pdfa,
    })
}

/// Builds the pages of a digitised original alone: no stamp, no certification page.
pub fn assemble_scan(d: &Digitized, s: &ScanContent) -> Result<AssembledScan, PdfError> {
    let meta = scan_metadata(s)?;
    let job = Job {
        d,
        files: None,
        cert: None,
        meta: &meta,
    };
    let built = export(&job, s.pdfa)?;
    let (page_count, pdfa) = (built.page_count, built.pdfa);
    Ok(AssembledScan {
        pdf: built.into_vec()?,
        page_count,
        pdfa,
    })
}

/// A digitised original written to a sink by [`assemble_scan_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrittenScan {
    /// Bytes written.
    pub bytes: u64,
    /// Pages.
    pub page_count: usize,
    /// True when exported and validated as PDF/A-2b.
    pub pdfa: bool,
}

/// Builds the same file as [`assemble_scan`] from pages digitised from files, writing it
/// to `out` as it goes: each JPEG page is copied from its file when its turn comes (and
/// refused with [`PdfError::SourceChanged`] if the file changed since it was checked), so
/// neither the scans nor the output are ever held whole. On an error, what was written
/// is incomplete and is to be thrown away.
pub fn assemble_scan_to(
    d: &DigitizedFiles,
    s: &ScanContent,
    out: &mut dyn std::io::Write,
) -> Result<WrittenScan, PdfError> {
    let meta = scan_metadata(s)?;
    let job = Job {
        d: d.digitized(),
        files: Some(d),
        cert: None,
        meta: &meta,
    };
    let built = export(&job, s.pdfa)?;
    Ok(WrittenScan {
        bytes: built.write_to(out)?,
        page_count: built.page_count,
        pdfa: built.pdfa,
    })
}

fn scan_metadata(s: &ScanContent) -> Result<Metadata, PdfError> {
    text::check_fonts().map_err(PdfError::Text)?;
    Ok(Metadata::new()
        .title(s.title.clone())
        .authors(vec![s.agency.clone()])
        .keywords(keywords(&s.facts))
        .language("vi".into())
        .creator("saoy".into())
        .creation_date(krilla_date(s.created))
        .document_id(s.id.clone()))
}

/// What one export draws.
struct Job<'a> {
    d: &'a Digitized,
    /// Where JPEG pages left on disk are (the streaming path).
    files: Option<&'a DigitizedFiles>,
    cert: Option<(&'a CopyContent, &'a QrSymbol)>,
    meta: &'a Metadata,
}

/// What one export produced: krilla's file, and the JPEGs its placeholders stand for.
struct Built<'a> {
    pdf: Vec<u8>,
    jpegs: Vec<JpegRef<'a>>,
    /// PNG and decoded pages deflated with predictors ([`flate`]).
    flates: Vec<FlateImage>,
    /// Every object is krilla's own (no embedded PDF page): the file may be compacted.
    compact: bool,
    stamp_area: Option<Area>,
    cert_area: Option<Area>,
    page_count: usize,
    pdfa: bool,
}

impl Built<'_> {
    fn images(&self) -> Images<'_, '_> {
        Images {
            jpegs: &self.jpegs,
            flates: &self.flates,
        }
    }

    /// The final file in memory.
    fn into_vec(self) -> Result<Vec<u8>, PdfError> {
        final_write::fill_images(&self.pdf, self.images(), self.compact).map_err(PdfError::Export)
    }

    /// Writes the final file to `out`; returns its length.
    fn write_to(&self, out: &mut dyn std::io::Write) -> Result<u64, PdfError> {
        final_write::write_pdf(&self.pdf, self.images(), self.compact, out).map_err(|e| match e {
            FinalWriteError::Structure(m) => PdfError::Export(m),
            FinalWriteError::SourceChanged { path } => PdfError::SourceChanged(path),
            FinalWriteError::Io(e) => PdfError::Write(e.to_string()),
        })
    }
}

fn export<'a>(job: &Job<'a>, pdfa: bool) -> Result<Built<'a>, PdfError> {
    let d = job.d;
    if d.pages.is_empty() {
        return Err(PdfError::NoPages);
    }
    let sources = d
        .pdf_sources
        .iter()
        .map(|b| {
            let data: Arc<bytes::Bytes> = Arc::new(b.clone());
            Pdf::new(data).ok().map(|p| PdfDocument::new(Arc::new(p)))
        })
        .collect::<Vec<_>>();
    let has_pdf_pages = d.pages.iter().any(|p| matches!(p, Page::PdfPage { .. }));
    let mut mode = if pdfa && !has_pdf_pages {
        Mode::PdfA
    } else {
        Mode::Plain(PdfVersion::Pdf17)
    };
    // At most: PDF/A refused → plain 1.7 → newer version for an embedded PDF 2.0.
    for _ in 0..3 {
        let attempt = catch_unwind(AssertUnwindSafe(|| build(job, &sources, mode)))
            .map_err(|_| PdfError::Export("the PDF writer failed unexpectedly".into()))?;
        match attempt {
            Ok(built) => return Ok(built),
            Err(Retry::As(next)) => {
                if mode == Mode::PdfA {
                    tracing::warn!("certified copy cannot be PDF/A-2b; exporting plain PDF");
                }
                mode = next;
            }
            Err(Retry::Fail(e)) => return Err(e),
        }
    }
    Err(PdfError::Export(
        "no PDF version fits the embedded documents".into(),
    ))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    PdfA,
    Plain(PdfVersion),
}

enum Retry {
    As(Mode),
    Fail(PdfError),
}

impl From<PdfError> for Retry {
    fn from(e: PdfError) -> Self {
        Retry::Fail(e)
    }
}

fn build<'a>(
    job: &Job<'a>,
    sources: &[Option<PdfDocument>],
    mode: Mode,
) -> Result<Built<'a>, Retry> {
    let d = job.d;
    let configuration = match mode {
        Mode::PdfA => ConfigurationBuilder::new().with_archival_validator(Archival::A2_B),
        Mode::Plain(v) => ConfigurationBuilder::new().with_version(v),
    }
    .finish()
    .map_err(|e| PdfError::Export(format!("{e:?}")))?;
    let settings = SerializeSettings {
        configuration,
        enable_tagging: false,
        ..SerializeSettings::default()
    };
    let mut doc = Document::new_with(settings);
    doc.set_metadata(job.meta.clone());

    let mut stamp_area = None;
    let mut strips: Vec<StripRef<'_>> = Vec::new();
    let mut jpegs: Vec<JpegRef<'a>> = Vec::new();
    let mut flates: Vec<FlateImage> = Vec::new();
    for (i, page) in d.pages.iter().enumerate() {
        let (w, h) = page_size(page);
        let settings = PageSettings::from_wh(w, h).ok_or_else(|| PdfError::Image {
            page: i + 1,
            reason: format!("invalid page size {w}×{h} pt"),
        })?;
        let mut pdf_page = doc.start_page_with(settings);
        let mut surface = pdf_page.surface();
        surface.set_location(location(i));
        let ocr = d.text.get(i).and_then(Option::as_ref);
        let mut later = Later {
            strips: &mut strips,
            jpegs: &mut jpegs,
            flates: &mut flates,
            jpeg_file: job.files.and_then(|f| f.jpeg_file(i)),
        };
        draw_original(&mut surface, i, page, (w, h), sources, ocr, &mut later)?;
        if i == 0
            && let Some((c, _)) = job.cert
        {
            let rect = draw_stamp(&mut surface, &c.stamp_lines, w, h)?;
            stamp_area = Some(Area {
                page_index: 0,
                rect,
            });
        }
        surface.reset_location();
        surface.finish();
        pdf_page.finish();
    }
    let last = d.pages.len();
    let mut cert_area = None;
    if let Some((c, qr)) = job.cert {
        let mut pdf_page = doc.start_page_with(
            PageSettings::from_wh(A4.0, A4.1)
                .ok_or_else(|| PdfError::Export("A4 page size rejected".into()))?,
        );
        let mut surface = pdf_page.surface();
        let rect = draw_certification(&mut surface, c, qr)?;
        surface.finish();
        pdf_page.finish();
        cert_area = Some(Area {
            page_index: last,
            rect,
        });
    }
    let mut pdf = doc.finish().map_err(|e| export_error(e, mode))?;
    if !strips.is_empty() {
        pdf = g4::fill_placeholders(&pdf, &strips).map_err(PdfError::Export)?;
    }
    Ok(Built {
        pdf,
        jpegs,
        flates,
        compact: !d.pages.iter().any(|p| matches!(p, Page::PdfPage { .. })),
        stamp_area,
        cert_area,
        page_count: last + usize::from(job.cert.is_some()),
        pdfa: mode == Mode::PdfA,
    })
}

/// Location tag of page `i`, so krilla errors name the page.
fn location(i: usize) -> NonZeroU64 {
    NonZeroU64::new(i as u64 + 1).unwrap_or(NonZeroU64::MIN)
}

fn page_of(loc: Option<NonZeroU64>) -> usize {
    loc.map_or(0, |l| l.get() as usize)
}

/// Maps a krilla export error: a PDF/A refusal or a version clash asks for another try.
fn export_error(e: KrillaError, mode: Mode) -> Retry {
    match e {
        KrillaError::Validation(errors) if mode == Mode::PdfA => {
            tracing::warn!(?errors, "PDF/A-2b validation refused the copy");
            Retry::As(Mode::Plain(PdfVersion::Pdf17))
        }
        KrillaError::Pdf(_, krilla::pdf::PdfError::VersionMismatch(v), _)
            if mode != Mode::Plain(v) && mode != Mode::PdfA =>
        {
            Retry::As(Mode::Plain(v))
        }
        KrillaError::Pdf(_, err, loc) => Retry::Fail(PdfError::EmbeddedPdf {
            page: page_of(loc),
            reason: err.to_string(),
        }),
        KrillaError::Image(_, loc, reason) => Retry::Fail(PdfError::Image {
            page: page_of(loc),
            reason,
        }),
        KrillaError::SixteenBitImage(_, loc) => Retry::Fail(PdfError::Image {
            page: page_of(loc),
            reason: "16-bit image needs PDF 1.5 or later".into(),
        }),
        KrillaError::Validation(errors) => Retry::Fail(PdfError::PdfA(format!("{errors:?}"))),
        other => Retry::Fail(PdfError::Export(other.to_string())),
    }
}

/// Size of a scan as drawn before orientation, in points (px / dpi × 72).
fn image_extent(image: &PageImage, dpi_x: f32, dpi_y: f32) -> (f32, f32) {
    let (px_w, px_h) = image.pixel_size();
    (px_w as f32 / dpi_x * 72.0, px_h as f32 / dpi_y * 72.0)
}

/// Final page size in points: orientation applied, shrunk to at most [`MAX_PAGE_SIDE`].
fn page_size(page: &Page) -> (f32, f32) {
    let (w, h) = match page {
        Page::Image {
            image,
            dpi_x,
            dpi_y,
            orientation,
            ..
        } => {
            let (w, h) = image_extent(image, *dpi_x, *dpi_y);
            if swaps_axes(*orientation) {
                (h, w)
            } else {
                (w, h)
            }
        }
        Page::PdfPage {
            width_pt,
            height_pt,
            ..
        } => (*width_pt, *height_pt),
    };
    let k = shrink_factor(w, h);
    (w * k, h * k)
}

fn shrink_factor(w: f32, h: f32) -> f32 {
    (MAX_PAGE_SIDE / w).min(MAX_PAGE_SIDE / h).min(1.0)
}

fn swaps_axes(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

/// Maps the stored image box (0..w, 0..h; y down) onto the upright page, per EXIF orientation.
fn orientation_transform(orientation: u8, w: f32, h: f32) -> Transform {
    // from_row(sx, ky, kx, sy, tx, ty): x' = sx·x + kx·y + tx, y' = ky·x + sy·y + ty
    match orientation {
        2 => Transform::from_row(-1.0, 0.0, 0.0, 1.0, w, 0.0),
        3 => Transform::from_row(-1.0, 0.0, 0.0, -1.0, w, h),
        4 => Transform::from_row(1.0, 0.0, 0.0, -1.0, 0.0, h),
        5 => Transform::from_row(0.0, 1.0, 1.0, 0.0, 0.0, 0.0),
        6 => Transform::from_row(0.0, 1.0, -1.0, 0.0, h, 0.0),
        7 => Transform::from_row(0.0, -1.0, -1.0, 0.0, h, w),
        8 => Transform::from_row(0.0, -1.0, 1.0, 0.0, 0.0, w),
        _ => Transform::identity(),
    }
}

/// Images drawn as placeholders, put in after export.
struct Later<'p, 'a> {
    /// CCITT G4 strips ([`g4`]).
    strips: &'p mut Vec<StripRef<'a>>,
    /// Grey and YCbCr JPEGs ([`final_write`]).
    jpegs: &'p mut Vec<JpegRef<'a>>,
    /// The file this page's JPEG is read from, when its bytes were not kept.
    jpeg_file: Option<&'a FileJpeg>,
    /// PNG and decoded pages deflated with predictors ([`flate`]).
    flates: &'p mut Vec<FlateImage>,
}

impl Later<'_, '_> {
    /// Draws a placeholder for `f` (put in by [`final_write`]) filling `size`.
    fn flate(
        &mut self,
        surface: &mut Surface<'_>,
        f: FlateImage,
        size: Size,
    ) -> Result<(), String> {
        let colour = match f.colours {
            1 => super::pages::Colour::Gray,
            3 => super::pages::Colour::Rgb,
            4 => super::pages::Colour::Cmyk,
            _ => return Err("unexpected number of colour components".into()),
        };
        let img = flate_placeholder(self.flates.len() as u64, colour)?;
        surface.draw_image(img, size);
        self.flates.push(f);
        Ok(())
    }
}

/// Draws page `i` of the original to fill a page of `size`; G4 strips and grey or colour
/// JPEGs are drawn as placeholders and recorded in `later`.
fn draw_original<'a>(
    surface: &mut Surface<'_>,
    i: usize,
    page: &'a Page,
    size: (f32, f32),
    sources: &[Option<PdfDocument>],
    ocr: Option<&super::pages::PageText>,
    later: &mut Later<'_, 'a>,
) -> Result<(), Retry> {
    let image_err = |reason: String| -> Retry {
        PdfError::Image {
            page: i + 1,
            reason,
        }
        .into()
    };
    match page {
        Page::Image {
            image,
            dpi_x,
            dpi_y,
            orientation,
            ..
        } => {
            let (w, h) = image_extent(image, *dpi_x, *dpi_y);
            let (pw, ph) = if swaps_axes(*orientation) {
                (h, w)
            } else {
                (w, h)
            };
            let k = shrink_factor(pw, ph);
            let drawn = Size::from_wh(w, h).ok_or_else(|| PdfError::Image {
                page: i + 1,
                reason: format!("invalid image size {w}×{h} pt"),
            })?;
            surface.push_transform(&Transform::from_scale(k, k));
            surface.push_transform(&orientation_transform(*orientation, w, h));
            let drawn_image = match image {
                // Grey and YCbCr JPEGs go in after export, written once from the upload.
                PageImage::Jpeg {
                    data,
                    width,
                    height,
                    components: components @ (1 | 3),
                } => jpeg_placeholder(later.jpegs.len() as u64, *components == 3)
                    .map(|img| {
                        surface.draw_image(img, drawn);
                        later.jpegs.push(JpegRef {
                            bytes: match later.jpeg_file {
                                Some(f) => JpegBytes::File(f),
                                None => JpegBytes::Memory(data),
                            },
                            width: *width,
                            height: *height,
                        });
                    })
                    .map_err(image_err),
                // CMYK: krilla handles the inverted Adobe data and the PDF/A refusal.
                PageImage::Jpeg { data, .. } => Image::from_jpeg(shared(data), false)
                    .map(|img| surface.draw_image(img, drawn))
                    .map_err(image_err),
                PageImage::Png { data, .. } => match flate::png_as_is(data) {
                    Some(f) => later.flate(surface, f, drawn).map_err(image_err),
                    None => Image::from_png(shared(data), false)
                        .map(|img| surface.draw_image(img, drawn))
                        .map_err(image_err),
                },
                PageImage::Raster(r) => match flate::raster_with_predictors(r) {
                    Some(f) => later.flate(surface, f, drawn).map_err(image_err),
                    None => raster_image(r)
                        .map(|img| surface.draw_image(img, drawn))
                        .map_err(image_err),
                },
                PageImage::Bilevel(b) => {
                    draw_strips(surface, b, (w, h), later.strips).map_err(image_err)
                }
            };
            let layer = match (drawn_image.is_ok(), ocr) {
                (true, Some(t)) => textlayer::draw(surface, t, w, h).map_err(image_err),
                _ => Ok(()),
            };
            surface.pop();
            surface.pop();
            drawn_image?;
            layer?;
        }
        Page::PdfPage {
            pdf_source,
            page_index,
            ..
        } => {
            let document = sources
                .get(*pdf_source)
                .ok_or(PdfError::MissingSource {
                    page: i + 1,
                    source_index: *pdf_source,
                })?
                .as_ref()
                .ok_or_else(|| PdfError::EmbeddedPdf {
                    page: i + 1,
                    reason: "the uploaded PDF cannot be parsed".into(),
                })?;
            let target = Size::from_wh(size.0, size.1).ok_or_else(|| PdfError::EmbeddedPdf {
                page: i + 1,
                reason: "invalid page size".into(),
            })?;
            surface.draw_pdf_page(document, target, *page_index);
        }
    }
    Ok(())
}

/// Draws each G4 strip of `b` as a placeholder in its band of the `(w, h)` image box.
fn draw_strips<'a>(
    surface: &mut Surface<'_>,
    b: &'a super::pages::Bilevel,
    (w, h): (f32, f32),
    strips: &mut Vec<StripRef<'a>>,
) -> Result<(), String> {
    let row_h = h / b.height.max(1) as f32;
    let mut top = 0.0;
    for strip in &b.strips {
        let band = row_h * strip.rows as f32;
        let size = Size::from_wh(w, band).ok_or("invalid strip size")?;
        let img = placeholder(strips.len() as u64)?;
        surface.push_transform(&Transform::from_translate(0.0, top));
        surface.draw_image(img, size);
        surface.pop();
        strips.push(StripRef { strip, page: b });
        top += band;
    }
    Ok(())
}

/// Draws the NĐ 30/2020 copy stamp at the top right of a `w`×`h` page; returns its box in
/// PDF user space. The font shrinks below 10 pt only if the page is too narrow.
fn draw_stamp(
    surface: &mut Surface<'_>,
    lines: &[String],
    w: f32,
    h: f32,
) -> Result<[f32; 4], Retry> {
    let margin = (w.min(h) * 0.03).clamp(4.0, 24.0);
    let pad = 4.0;
    let shape_all = |size: f32| -> Result<Vec<Line>, Retry> {
        lines
            .iter()
            .map(|l| text::shape(l, Face::Regular, size).map_err(|e| PdfError::Text(e).into()))
            .collect()
    };
    let mut size = STAMP_SIZE;
    let mut shaped = shape_all(size)?;
    let widest = shaped.iter().map(|l| l.width).fold(0.0_f32, f32::max);
    let room = w - 2.0 * margin - 2.0 * pad;
    if widest > room && room > 0.0 {
        size = (size * room / widest).max(4.0);
        shaped = shape_all(size)?;
    }
    let widest = shaped
        .iter()
        .map(|l| l.width)
        .fold(0.0_f32, f32::max)
        .max(size * 12.0);
    let leading = size * 1.25;
    let box_w = widest + 2.0 * pad;
    let box_h = leading * shaped.len().max(2) as f32 + 2.0 * pad;
    let x1 = w - margin;
    let x0 = (x1 - box_w).max(0.0);
    let y0 = margin;
    let y1 = (y0 + box_h).min(h);
    for (k, line) in shaped.iter().enumerate() {
        let baseline = y0 + pad + k as f32 * leading + size * 0.95;
        line.draw(surface, x0 + pad, baseline)
            .map_err(PdfError::Text)?;
    }
    Ok([x0, h - y1, x1, h - y0])
}

/// Draws the certification page (A4); returns the certifier's signature box in PDF user space.
fn draw_certification(
    surface: &mut Surface<'_>,
    c: &CopyContent,
    qr: &QrSymbol,
) -> Result<[f32; 4], Retry> {
    let (page_w, page_h) = A4;
    let left = 70.0;
    let right = page_w - 56.0;
    let text_err = |e: String| -> Retry { PdfError::Text(e).into() };
    let mut y = 72.0;

    // Agency, top left, as in the heading of an administrative document.
    let agency_col = (left, left + 250.0);
    for line in
        text::wrap(&c.agency, Face::Bold, 12.0, agency_col.1 - agency_col.0).map_err(text_err)?
    {
        centered(surface, &line, (agency_col.0 + agency_col.1) / 2.0, y)?;
        y += 15.0;
    }
    y += 40.0;

    // Statement and reference, centred on the page.
    let middle = (left + right) / 2.0;
    for line in text::wrap(&c.statement, Face::Bold, 14.0, right - left).map_err(text_err)? {
        centered(surface, &line, middle, y)?;
        y += 19.0;
    }
    y += 4.0;
    for line in text::wrap(&c.reference, Face::Regular, 13.0, right - left).map_err(text_err)? {
        centered(surface, &line, middle, y)?;
        y += 18.0;
    }
    y += 30.0;

    // Signature block in the right half.
    let col = (page_w / 2.0 - 10.0, right);
    let col_mid = (col.0 + col.1) / 2.0;
    let col_w = col.1 - col.0;
    let mut block = |text: &str, face: Face, y: &mut f32| -> Result<(), Retry> {
        for line in text::wrap(text, face, 13.0, col_w).map_err(text_err)? {
            centered(surface, &line, col_mid, *y)?;
            *y += 18.0;
        }
        Ok(())
    };
    block(&c.date_line, Face::Regular, &mut y)?;
    block("NGƯỜI THỰC HIỆN CHỨNG THỰC", Face::Bold, &mut y)?;
    block(&c.certifier_title, Face::Regular, &mut y)?;
    let sig_w = 220.0;
    let sig_h = 96.0;
    let sig_top = y - 6.0;
    let sig = [
        col_mid - sig_w / 2.0,
        sig_top,
        col_mid + sig_w / 2.0,
        sig_top + sig_h,
    ];
    y = sig_top + sig_h + 18.0;
    block(&c.certifier_name, Face::Bold, &mut y)?;

    // QR code and caption, bottom left.
    let module = QR_SIDE / qr.width() as f32;
    let qr_top = (y + 30.0 + QUIET_ZONE as f32 * module).max(page_h - 72.0 - QR_SIDE - 40.0);
    qr.draw(surface, left, qr_top, QR_SIDE);
    let caption_x = left + QR_SIDE + (QUIET_ZONE as f32 * module).max(12.0);
    let caption_w = right - caption_x;
    let mut cy = qr_top + 14.0;
    for (text, face) in [
        ("Mã tra cứu bản sao điện tử:", Face::Regular),
        (c.copy_id.as_str(), Face::Bold),
        (
            "Quét mã QR hoặc nhập mã này để kiểm tra bản sao và chữ ký số.",
            Face::Regular,
        ),
    ] {
        for line in text::wrap(text, face, 10.0, caption_w).map_err(text_err)? {
            line.draw(surface, caption_x, cy).map_err(text_err)?;
            cy += 13.0;
        }
    }
    Ok([sig[0], page_h - sig[3], sig[2], page_h - sig[1]])
}

fn centered(surface: &mut Surface<'_>, line: &Line, cx: f32, baseline: f32) -> Result<(), Retry> {
    line.draw(surface, cx - line.width / 2.0, baseline)
        .map_err(|e| PdfError::Text(e).into())
}

fn copy_metadata(c: &CopyContent, facts: &[(String, String)]) -> Metadata {
    let when = c.signing_time;
    let mut meta = Metadata::new()
        .title(c.title.clone())
        .description(format!("{} {}", c.statement, c.reference))
        .authors(vec![c.agency.clone()])
        .language("vi".into())
        .creator("saoy".into())
        .creation_date(krilla_date(when))
        .document_id(c.copy_id.clone());
    if !facts.is_empty() {
        meta = meta.keywords(keywords(facts));
    }
    meta
}

/// `name: value` keywords (XMP `pdf:Keywords`, Info `/Keywords`).
fn keywords(facts: &[(String, String)]) -> Vec<String> {
    facts
        .iter()
        .map(|(k, v)| format!("{}: {}", k.trim(), v.trim()))
        .collect()
}

/// A time as krilla's metadata date, with its UTC offset.
pub(super) fn krilla_date(when: time::OffsetDateTime) -> DateTime {
    let (oh, om, _) = when.offset().as_hms();
    DateTime::new(when.year().clamp(0, 9999) as u16)
        .month(u8::from(when.month()))
        .day(when.day())
        .hour(when.hour())
        .minute(when.minute())
        .second(when.second())
        .utc_offset_hour(oh)
        .utc_offset_minute(om.unsigned_abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(t: Transform, x: f32, y: f32) -> (f32, f32) {
        (
            t.sx() * x + t.kx() * y + t.tx(),
            t.ky() * x + t.sy() * y + t.ty(),
        )
    }

    #[test]
    fn every_orientation_maps_the_image_onto_the_page() {
        let (w, h) = (30.0, 20.0);
        for o in 1..=8u8 {
            let t = orientation_transform(o, w, h);
            let (pw, ph) = if swaps_axes(o) { (h, w) } else { (w, h) };
            let mut corners: Vec<(i32, i32)> = [(0.0, 0.0), (w, 0.0), (0.0, h), (w, h)]
                .iter()
                .map(|&(x, y)| {
                    let (a, b) = apply(t, x, y);
                    (a.round() as i32, b.round() as i32)
                })
                .collect();
            corners.sort();
            let mut want = vec![
                (0, 0),
                (pw as i32, 0),
                (0, ph as i32),
                (pw as i32, ph as i32),
            ];
            want.sort();
            assert_eq!(corners, want, "orientation {o}");
        }
        // 6: stored top-left goes to the displayed top-right.
        assert_eq!(apply(orientation_transform(6, w, h), 0.0, 0.0), (h, 0.0));
        // 8: stored top-left goes to the displayed bottom-left.
        assert_eq!(apply(orientation_transform(8, w, h), 0.0, 0.0), (0.0, w));
    }

    #[test]
    fn huge_pages_are_shrunk_to_the_reader_limit() {
        let page = Page::Image {
            image: PageImage::Png {
                data: bytes::Bytes::new(),
                width: 100_000,
                height: 1_000,
            },
            dpi_x: 72.0,
            dpi_y: 72.0,
            dpi_declared: false,
            orientation: 1,
            source_file: 0,
        };
        let (w, h) = page_size(&page);
        assert!((w - MAX_PAGE_SIDE).abs() < 0.01 && (h - 144.0).abs() < 0.01);
    }

    #[test]
    fn metadata_date_is_the_signing_time() {
        let c = CopyContent {
            copy_id: "x".into(),
            qr_payload: "x".into(),
            statement: String::new(),
            reference: String::new(),
            date_line: String::new(),
            certifier_title: String::new(),
            certifier_name: String::new(),
            agency: String::new(),
            stamp_lines: vec!["Bản sao".into(), "2026-11-24T09:15:30+07:00".into()],
            title: "t".into(),
            signing_time: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
            pdfa: true,
        };
        let m = format!("{:?}", copy_metadata(&c, &[]));
        assert!(
            m.contains("2026") && m.contains("15") && m.contains("30"),
            "{m}"
        );
    }
}
