//! Digitising and assembling a certified copy, checked from the outside: lopdf for the
//! embedded streams, poppler (`pdftotext`, `pdftoppm`) and `qpdf --check` as independent
//! readers, rqrr for the QR code.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use image::codecs::jpeg::{JpegEncoder, PixelDensity, PixelDensityUnit};
use saoy::digitize::{self, DigitizeError, DigitizeOptions, Digitized, Page, UploadedFile};
use saoy::pdf::{AssembledCopy, CopyContent, assemble};

const STATEMENT: &str = "Chứng thực bản sao đúng với bản chính.";

fn content() -> CopyContent {
    CopyContent {
        copy_id: "01936b1e-7c3a-7d2e-9f00-4b1d2c3e4f50".into(),
        qr_payload: "01936b1e-7c3a-7d2e-9f00-4b1d2c3e4f50".into(),
        statement: STATEMENT.into(),
        reference: "Số chứng thực: 12, quyển số 01/2026-SCT/BS".into(),
        date_line: "Ngày 24 tháng 11 năm 2026".into(),
        certifier_title: "Phó Chủ tịch Ủy ban nhân dân phường".into(),
        certifier_name: "Nguyễn Thị Hồng Nhung".into(),
        agency: "ỦY BAN NHÂN DÂN PHƯỜNG BA ĐÌNH".into(),
        stamp_lines: vec![
            "Bản sao điện tử chứng thực từ bản chính".into(),
            "Ủy ban nhân dân phường Ba Đình".into(),
            "2026-11-24T09:15:30+07:00".into(),
        ],
        title: "Bản sao chứng thực 01936b1e".into(),
        signing_time: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        pdfa: true,
    }
}

fn opts() -> DigitizeOptions {
    DigitizeOptions::default()
}

fn upload(name: &str, media_type: Option<&str>, data: Vec<u8>) -> UploadedFile {
    UploadedFile {
        name: name.into(),
        media_type: media_type.map(str::to_owned),
        data: Bytes::from(data),
    }
}

/// A colour test pattern (gradients + blocks), so compression has real work to do.
fn pattern(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let block = ((x / 16 + y / 16) % 2) as u8 * 60;
        image::Rgb([
            (x % 256) as u8,
            (y % 256) as u8,
            block.wrapping_add((x ^ y) as u8 / 4),
        ])
    })
}

fn jpeg(w: u32, h: u32, density: Option<u16>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 85);
    if let Some(d) = density {
        enc.set_pixel_density(PixelDensity {
            density: (d, d),
            unit: PixelDensityUnit::Inches,
        });
    }
    enc.encode_image(&pattern(w, h)).unwrap();
    out
}

fn png_rgb(w: u32, h: u32, dpi: f32) -> (Vec<u8>, Vec<u8>) {
    let raw = pattern(w, h).into_raw();
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: (dpi / 0.0254).round() as u32,
            yppu: (dpi / 0.0254).round() as u32,
            unit: png::Unit::Meter,
        }));
        enc.write_header().unwrap().write_image_data(&raw).unwrap();
    }
    (out, raw)
}

fn build(files: Vec<UploadedFile>) -> (Digitized, AssembledCopy) {
    let d = digitize::digitize(&files, &opts()).expect("digitize");
    let copy = assemble(&d, &content()).expect("assemble");
    (d, copy)
}

fn write_temp(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).unwrap();
    path
}

/// All image XObjects in the file: (filter name, raw stream bytes, decoded bytes if Flate).
fn images(pdf: &[u8]) -> Vec<(String, Vec<u8>, Option<Vec<u8>>)> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let mut out = Vec::new();
    for obj in doc.objects.values() {
        if let Ok(stream) = obj.as_stream()
            && stream
                .dict
                .get(b"Subtype")
                .and_then(|s| s.as_name())
                .is_ok_and(|n| n == b"Image")
        {
            let filter = stream
                .dict
                .get(b"Filter")
                .and_then(|f| f.as_name())
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .unwrap_or_default();
            let decoded = (filter == "FlateDecode")
                .then(|| stream.decompressed_content().ok())
                .flatten();
            out.push((filter, stream.content.clone(), decoded));
        }
    }
    out
}

fn media_boxes(pdf: &[u8]) -> Vec<[f32; 4]> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    doc.get_pages()
        .values()
        .map(|id| {
            let page = doc.get_dictionary(*id).unwrap();
            let mb = page.get(b"MediaBox").unwrap().as_array().unwrap();
            let n: Vec<f32> = mb.iter().map(|o| o.as_float().unwrap()).collect();
            [n[0], n[1], n[2], n[3]]
        })
        .collect()
}

fn tool_ok(cmd: &mut Command) -> (bool, String) {
    let out = cmd.output().expect("tool installed");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn jpeg_is_embedded_byte_for_byte_and_page_follows_dpi() {
    let input = jpeg(600, 900, Some(300));
    let (_, copy) = build(vec![upload("scan.jpg", Some("image/jpeg"), input.clone())]);
    let dct: Vec<_> = images(&copy.pdf)
        .into_iter()
        .filter(|(f, _, _)| f == "DCTDecode")
        .collect();
    assert_eq!(dct.len(), 1);
    assert!(dct[0].1 == input, "embedded JPEG differs from the upload");

    let boxes = media_boxes(&copy.pdf);
    assert_eq!(boxes.len(), 2, "one scan page + certification page");
    let [x0, y0, x1, y1] = boxes[0];
    assert!(((x1 - x0) - 144.0).abs() < 0.01, "width {}", x1 - x0);
    assert!(((y1 - y0) - 216.0).abs() < 0.01, "height {}", y1 - y0);
    let [_, _, aw, ah] = boxes[1];
    assert!((aw - 595.276).abs() < 0.01 && (ah - 841.89).abs() < 0.01);
    assert_eq!(copy.page_count, 2);
    assert!(copy.pdfa);
}

#[test]
fn png_pixels_round_trip() {
    let (input, raw) = png_rgb(123, 77, 300.0);
    let (_, copy) = build(vec![upload("scan.png", None, input)]);
    let flate: Vec<_> = images(&copy.pdf)
        .into_iter()
        .filter_map(|(f, _, decoded)| (f == "FlateDecode").then_some(decoded).flatten())
        .collect();
    assert!(
        flate.contains(&raw),
        "no image stream decodes to the PNG's pixels"
    );
    let [x0, _, x1, _] = media_boxes(&copy.pdf)[0];
    assert!(((x1 - x0) - 123.0 / 300.0 * 72.0).abs() < 0.01);
}

#[test]
fn pdf_is_readable_by_poppler_and_qpdf_and_qr_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, copy) = build(vec![
        upload("p1.jpg", Some("image/jpeg"), jpeg(827, 1169, Some(300))),
        upload("p2.png", Some("image/png"), png_rgb(400, 300, 200.0).0),
    ]);
    let path = write_temp(dir.path(), "copy.pdf", &copy.pdf);

    let (ok, text) = tool_ok(Command::new("pdftotext").arg(&path).arg("-"));
    assert!(ok, "{text}");
    for needle in [
        "Chứng thực bản sao đúng với bản chính",
        "Số chứng thực: 12, quyển số 01/2026-SCT/BS",
        "Ngày 24 tháng 11 năm 2026",
        "NGƯỜI THỰC HIỆN CHỨNG THỰC",
        "Nguyễn Thị Hồng Nhung",
        "2026-11-24T09:15:30+07:00",
    ] {
        assert!(text.contains(needle), "pdftotext lacks {needle:?}:\n{text}");
    }

    let (ok, report) = tool_ok(Command::new("qpdf").arg("--check").arg(&path));
    assert!(ok, "qpdf --check: {report}");
    assert!(
        report.contains("No syntax or stream encoding errors"),
        "{report}"
    );

    let last = copy.page_count.to_string();
    let prefix = dir.path().join("last");
    let (ok, msg) = tool_ok(
        Command::new("pdftoppm")
            .args(["-r", "150", "-png", "-f", &last, "-l", &last, "-singlefile"])
            .arg(&path)
            .arg(&prefix),
    );
    assert!(ok, "{msg}");
    let rendered = image::open(prefix.with_extension("png"))
        .unwrap()
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(rendered);
    let grids = prepared.detect_grids();
    assert_eq!(
        grids.len(),
        1,
        "exactly one QR code on the certification page"
    );
    let (_, payload) = grids[0].decode().unwrap();
    assert_eq!(payload, content().qr_payload);
}

#[test]
fn areas_are_where_the_signatures_go() {
    let (_, copy) = build(vec![upload("scan.jpg", None, jpeg(1654, 2339, Some(200)))]);
    let boxes = media_boxes(&copy.pdf);
    let [_, _, pw, ph] = boxes[0];
    let s = copy.stamp_area;
    assert_eq!(s.page_index, 0);
    assert!(s.rect[0] < s.rect[2] && s.rect[1] < s.rect[3]);
    assert!(s.rect[2] <= pw && s.rect[3] <= ph, "inside page 1");
    assert!(
        s.rect[0] > pw / 2.0 && s.rect[1] > ph * 0.8,
        "top right: {:?}",
        s.rect
    );
    let c = copy.certification_area;
    assert_eq!(c.page_index, copy.page_count - 1);
    assert!(c.rect[0] >= 0.0 && c.rect[2] <= 595.3 && c.rect[1] >= 0.0 && c.rect[3] <= 841.9);
    assert!(c.rect[2] - c.rect[0] >= 150.0 && c.rect[3] - c.rect[1] >= 60.0);
}

#[test]
fn stamp_fits_a_small_page() {
    // An ID card (85.6 × 54 mm) scanned at 300 dpi: about 243 × 153 pt.
    let (_, copy) = build(vec![upload("card.jpg", None, jpeg(1011, 638, Some(300)))]);
    let [_, _, pw, ph] = media_boxes(&copy.pdf)[0];
    let r = copy.stamp_area.rect;
    assert!(
        r[0] >= 0.0 && r[1] >= 0.0 && r[2] <= pw && r[3] <= ph,
        "{r:?} on {pw}×{ph}"
    );
    assert!(r[2] - r[0] > 60.0, "{r:?}");
}

#[test]
fn pdfa_is_declared_in_xmp() {
    let (_, copy) = build(vec![upload("scan.jpg", None, jpeg(300, 300, Some(300)))]);
    let text = String::from_utf8_lossy(&copy.pdf);
    assert!(
        text.contains("pdfaid:part") && text.contains("2"),
        "no PDF/A id"
    );
    assert!(copy.pdfa);
}

#[test]
fn pdf_original_pages_are_embedded_in_order_without_pdfa() {
    let dir = tempfile::tempdir().unwrap();
    // A two-page PDF original: a copy built from two scans (3 pages with its cert page).
    let (_, first) = build(vec![
        upload("a.jpg", None, jpeg(600, 600, Some(300))),
        upload("b.jpg", None, jpeg(300, 600, Some(300))),
    ]);
    let files = vec![
        upload("scan.jpg", None, jpeg(600, 900, Some(300))),
        upload("original.pdf", Some("application/pdf"), first.pdf.clone()),
    ];
    let d = digitize::digitize(&files, &opts()).unwrap();
    assert_eq!(d.pages.len(), 4);
    assert_eq!(d.pdf_sources.len(), 1);
    assert!(matches!(d.pages[0], Page::Image { source_file: 0, .. }));
    assert!(matches!(
        d.pages[3],
        Page::PdfPage {
            source_file: 1,
            page_index: 2,
            ..
        }
    ));
    let copy = assemble(&d, &content()).unwrap();
    assert_eq!(copy.page_count, 5);
    assert!(!copy.pdfa, "embedded PDF pages cannot be claimed as PDF/A");
    let boxes = media_boxes(&copy.pdf);
    assert!((boxes[1][2] - 144.0).abs() < 0.1 && (boxes[2][2] - 72.0).abs() < 0.1);
    let path = write_temp(dir.path(), "copy.pdf", &copy.pdf);
    let (ok, report) = tool_ok(Command::new("qpdf").arg("--check").arg(&path));
    assert!(ok, "qpdf --check: {report}");
    let (ok, text) = tool_ok(Command::new("pdftotext").arg(&path).arg("-"));
    assert!(ok);
    // The statement appears twice: on the embedded copy's page and on the new one.
    assert_eq!(
        text.matches("Chứng thực bản sao đúng với bản chính")
            .count(),
        2
    );
}

#[test]
fn encrypted_pdf_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, copy) = build(vec![upload("a.jpg", None, jpeg(200, 200, Some(300)))]);
    let plain = write_temp(dir.path(), "plain.pdf", &copy.pdf);
    let locked = dir.path().join("locked.pdf");
    let (ok, msg) = tool_ok(
        Command::new("qpdf")
            .args(["--encrypt", "", "owner-secret", "256", "--"])
            .arg(&plain)
            .arg(&locked),
    );
    assert!(ok, "{msg}");
    let files = vec![upload(
        "locked.pdf",
        Some("application/pdf"),
        std::fs::read(&locked).unwrap(),
    )];
    let err = digitize::digitize(&files, &opts()).unwrap_err();
    assert!(matches!(err, DigitizeError::PdfEncrypted { .. }), "{err:?}");
}

/// CRC-32 (IEEE), for crafting PNG chunks.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = b"IHDR".to_vec();
    chunk.extend_from_slice(&w.to_be_bytes());
    chunk.extend_from_slice(&h.to_be_bytes());
    chunk.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc32(&chunk).to_be_bytes());
    out
}

fn refuse(file: UploadedFile) -> DigitizeError {
    digitize::digitize(&[file], &opts()).unwrap_err()
}

#[test]
fn bad_inputs_get_the_right_error() {
    let e = refuse(upload("empty.jpg", Some("image/jpeg"), vec![]));
    assert!(matches!(e, DigitizeError::EmptyFile { .. }), "{e:?}");

    let full = jpeg(400, 400, Some(300));
    let e = refuse(upload("cut.jpg", None, full[..full.len() / 2].to_vec()));
    assert!(matches!(e, DigitizeError::Corrupt { .. }), "{e:?}");

    let e = refuse(upload(
        "notes.pdf",
        Some("application/pdf"),
        b"just some text, not a PDF\n".to_vec(),
    ));
    assert!(
        matches!(e, DigitizeError::MediaTypeMismatch { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("claims to be a PDF document"), "{e}");

    let e = refuse(upload("notes.txt", None, b"hello\n".to_vec()));
    assert!(matches!(e, DigitizeError::UnknownType { .. }), "{e:?}");
    let e = refuse(upload(
        "scan.tif",
        Some("image/tiff"),
        b"II*\0\x08\0\0\0".to_vec(),
    ));
    assert!(matches!(e, DigitizeError::Corrupt { .. }), "{e:?}");
    let e = refuse(upload("scan.gif", None, b"GIF89a....".to_vec()));
    assert!(matches!(e, DigitizeError::UnknownType { .. }), "{e:?}");

    let e = refuse(upload(
        "scan.jpg",
        Some("image/png"),
        jpeg(50, 50, Some(300)),
    ));
    assert!(
        matches!(e, DigitizeError::MediaTypeMismatch { .. }),
        "{e:?}"
    );

    let started = std::time::Instant::now();
    let e = refuse(upload(
        "bomb.png",
        Some("image/png"),
        png_header_only(100_000, 100_000),
    ));
    assert!(
        matches!(
            e,
            DigitizeError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.is_resource_limit());
    assert!(started.elapsed().as_millis() < 100);

    // The same header within limits but without image data is a damaged file.
    let e = refuse(upload("short.png", None, png_header_only(100, 100)));
    assert!(matches!(e, DigitizeError::Corrupt { .. }), "{e:?}");

    let e = refuse(upload("low.jpg", None, jpeg(100, 100, Some(72))));
    assert!(
        matches!(
            e,
            DigitizeError::ResolutionTooLow {
                dpi: 72,
                min: 200,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("scan at 200 dpi or more"), "{e}");

    let e = refuse(upload("nodpi.jpg", None, jpeg(100, 100, None)));
    assert!(
        matches!(e, DigitizeError::ResolutionTooLow { dpi: 72, .. }),
        "{e:?}"
    );

    let e = refuse(upload("broken.pdf", None, b"%PDF-1.7\ngarbage".to_vec()));
    assert!(matches!(e, DigitizeError::PdfUnreadable { .. }), "{e:?}");

    let e = digitize::digitize(&[], &opts()).unwrap_err();
    assert_eq!(e, DigitizeError::NoFiles);

    let two = vec![
        upload("a.jpg", None, jpeg(64, 64, Some(300))),
        upload("b.jpg", None, jpeg(64, 64, Some(300))),
    ];
    let limited = DigitizeOptions {
        max_pages: 1,
        ..opts()
    };
    let e = digitize::digitize(&two, &limited).unwrap_err();
    assert!(matches!(e, DigitizeError::TooManyPages { .. }), "{e:?}");

    // The error names the file by position (1-based) and name.
    let files = vec![
        upload("ok.jpg", None, jpeg(64, 64, Some(300))),
        upload("bad.jpg", None, jpeg(64, 64, Some(100))),
    ];
    let e = digitize::digitize(&files, &opts()).unwrap_err();
    assert!(e.to_string().contains("file 2 \"bad.jpg\""), "{e}");
    assert_eq!(e.file().map(|f| f.index), Some(1));
}

#[test]
fn low_resolution_can_be_allowed() {
    let files = vec![upload("low.jpg", None, jpeg(144, 144, None))];
    let d = digitize::digitize(
        &files,
        &DigitizeOptions {
            allow_low_resolution: true,
            ..opts()
        },
    )
    .unwrap();
    match &d.pages[0] {
        Page::Image {
            dpi_x,
            dpi_declared,
            ..
        } => {
            assert_eq!(*dpi_x, 72.0);
            assert!(!dpi_declared);
        }
        other => panic!("{other:?}"),
    }
    let copy = assemble(&d, &content()).unwrap();
    let [_, _, w, _] = media_boxes(&copy.pdf)[0];
    assert!((w - 144.0).abs() < 0.01);
}

#[test]
fn sample_scans_are_valid_originals() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let jpg = std::fs::read(data.join("sample-scan.jpg")).unwrap();
    let png = std::fs::read(data.join("sample-scan.png")).unwrap();
    assert!(jpg.len() < 300 * 1024);
    let (d, copy) = build(vec![
        upload("sample-scan.jpg", Some("image/jpeg"), jpg),
        upload("sample-scan.png", Some("image/png"), png),
    ]);
    for page in &d.pages {
        let Page::Image {
            dpi_x,
            dpi_declared,
            ..
        } = page
        else {
            panic!("image pages expected");
        };
        assert!(*dpi_declared && dpi_x.round() >= 200.0);
    }
    assert_eq!(copy.page_count, 3);
    // For a look at the result: SAOY_SAMPLE_COPY=/tmp/copy.pdf cargo test --test assemble
    if let Some(path) = std::env::var_os("SAOY_SAMPLE_COPY") {
        std::fs::write(path, &copy.pdf).unwrap();
    }
}

/// Inserts an EXIF APP1 segment with the given orientation right after SOI.
fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*".to_vec();
    tiff.extend_from_slice(&8u32.to_be_bytes());
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&0x0112u16.to_be_bytes());
    tiff.extend_from_slice(&3u16.to_be_bytes());
    tiff.extend_from_slice(&1u32.to_be_bytes());
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0]);
    tiff.extend_from_slice(&0u32.to_be_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

#[test]
fn exif_orientation_shows_the_page_upright() {
    // Stored 300×200 px at 300 dpi with a red block in the stored top-left corner;
    // orientation 6 means "rotate 90° clockwise to display": the block ends up top right.
    let img = image::RgbImage::from_fn(300, 200, |x, y| {
        if x < 60 && y < 60 {
            image::Rgb([220, 0, 0])
        } else {
            image::Rgb([255, 255, 255])
        }
    });
    let mut plain = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut plain, 90);
    enc.set_pixel_density(PixelDensity {
        density: (300, 300),
        unit: PixelDensityUnit::Inches,
    });
    enc.encode_image(&img).unwrap();
    let rotated = with_exif_orientation(&plain, 6);
    let mut c = content();
    c.stamp_lines.clear();
    let d = digitize::digitize(&[upload("r.jpg", None, rotated.clone())], &opts()).unwrap();
    let copy = assemble(&d, &c).unwrap();
    let [_, _, w, h] = media_boxes(&copy.pdf)[0];
    assert!(
        (w - 48.0).abs() < 0.01 && (h - 72.0).abs() < 0.01,
        "{w}×{h}"
    );
    // The embedded bytes are still the upload, EXIF included.
    assert!(images(&copy.pdf).iter().any(|(_, raw, _)| *raw == rotated));

    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "r.pdf", &copy.pdf);
    let prefix = dir.path().join("p1");
    let (ok, msg) = tool_ok(
        Command::new("pdftoppm")
            .args(["-r", "300", "-png", "-f", "1", "-l", "1", "-singlefile"])
            .arg(&path)
            .arg(&prefix),
    );
    assert!(ok, "{msg}");
    let page = image::open(prefix.with_extension("png")).unwrap().to_rgb8();
    assert_eq!((page.width(), page.height()), (200, 300));
    let top_right = page.get_pixel(185, 15);
    let top_left = page.get_pixel(15, 15);
    assert!(top_right[0] > 150 && top_right[1] < 90, "{top_right:?}");
    assert!(top_left[1] > 200, "{top_left:?}");
}

#[test]
fn png_variants_embed_under_pdfa() {
    let encode =
        |color: png::ColorType, depth: png::BitDepth, data: &[u8], palette: Option<&[u8]>| {
            let mut out = Vec::new();
            {
                let mut enc = png::Encoder::new(&mut out, 4, 2);
                enc.set_color(color);
                enc.set_depth(depth);
                if let Some(p) = palette {
                    enc.set_palette(p.to_vec());
                }
                enc.set_pixel_dims(Some(png::PixelDimensions {
                    xppu: 11811,
                    yppu: 11811,
                    unit: png::Unit::Meter,
                }));
                enc.write_header().unwrap().write_image_data(data).unwrap();
            }
            out
        };
    let files = vec![
        upload(
            "palette.png",
            None,
            encode(
                png::ColorType::Indexed,
                png::BitDepth::Eight,
                &[0, 1, 0, 1, 1, 0, 1, 0],
                Some(&[255, 0, 0, 0, 0, 255]),
            ),
        ),
        upload(
            "deep.png",
            None,
            encode(
                png::ColorType::Grayscale,
                png::BitDepth::Sixteen,
                &[0x12; 16],
                None,
            ),
        ),
        upload(
            "alpha.png",
            None,
            encode(
                png::ColorType::Rgba,
                png::BitDepth::Eight,
                &[0x80; 32],
                None,
            ),
        ),
    ];
    let (_, copy) = build(files);
    assert!(copy.pdfa);
    assert_eq!(copy.page_count, 4);
}

#[test]
fn decomposed_text_is_extracted_as_precomposed() {
    use unicode_normalization::UnicodeNormalization;
    let mut c = content();
    c.statement = STATEMENT.nfd().collect();
    assert_ne!(c.statement, STATEMENT);
    let d =
        digitize::digitize(&[upload("a.jpg", None, jpeg(100, 100, Some(300)))], &opts()).unwrap();
    let copy = assemble(&d, &c).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = write_temp(dir.path(), "c.pdf", &copy.pdf);
    let (ok, text) = tool_ok(Command::new("pdftotext").arg(&path).arg("-"));
    assert!(ok);
    assert!(
        text.contains("Chứng thực bản sao đúng với bản chính"),
        "{text}"
    );
}

/// Regenerates `tests/data/sample-scan.jpg` (A4, 300 dpi, grey JPEG with JFIF density) and
/// `tests/data/sample-scan.png` (A6, 200 dpi, PNG with pHYs): a fake Vietnamese document is
/// typeset with krilla and rasterised by `pdftoppm`. Run with
/// `cargo test --test assemble -- --ignored regenerate_sample_scans`.
#[test]
#[ignore = "regenerates the checked-in sample scans"]
fn regenerate_sample_scans() {
    use krilla::geom::{PathBuilder, Point};
    use krilla::page::PageSettings;
    use krilla::paint::Stroke;
    use krilla::text::{Font, TextDirection};

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let font = |name: &str| {
        let data = std::fs::read(root.join("assets/fonts").join(name)).unwrap();
        Font::new(data.into(), 0).unwrap()
    };
    let (regular, bold) = (
        font("LiberationSerif-Regular.ttf"),
        font("LiberationSerif-Bold.ttf"),
    );
    let dir = tempfile::tempdir().unwrap();
    let render = |size: (f32, f32), lines: &[(f32, f32, bool, f32, &str)], stamp: bool| {
        let mut doc = krilla::Document::new();
        let mut page = doc.start_page_with(PageSettings::from_wh(size.0, size.1).unwrap());
        let mut s = page.surface();
        for &(x, y, is_bold, pt, text) in lines {
            let f = if is_bold {
                bold.clone()
            } else {
                regular.clone()
            };
            s.draw_text(
                Point::from_xy(x, y),
                f,
                pt,
                text,
                false,
                TextDirection::Auto,
            );
        }
        if stamp {
            // A round "seal" outline, as on a real paper original.
            let mut pb = PathBuilder::new();
            let (cx, cy, r) = (size.0 * 0.72, size.1 * 0.62, 48.0);
            pb.move_to(cx + r, cy);
            for k in 1..=72 {
                let a = k as f32 / 72.0 * std::f32::consts::TAU;
                pb.line_to(cx + r * a.cos(), cy + r * a.sin());
            }
            pb.close();
            s.set_fill(None);
            s.set_stroke(Some(Stroke {
                paint: krilla::color::rgb::Color::new(200, 30, 30).into(),
                width: 2.5,
                ..Default::default()
            }));
            s.draw_path(&pb.finish().unwrap());
        }
        s.finish();
        page.finish();
        doc.finish().unwrap()
    };

    let a4 = render(
        (595.0, 842.0),
        &[
            (60.0, 70.0, true, 11.0, "ỦY BAN NHÂN DÂN"),
            (50.0, 85.0, true, 11.0, "PHƯỜNG MẪU THỬ"),
            (
                300.0,
                70.0,
                true,
                11.0,
                "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            ),
            (345.0, 85.0, true, 12.0, "Độc lập - Tự do - Hạnh phúc"),
            (60.0, 110.0, false, 12.0, "Số: 123/GXN-UBND"),
            (
                330.0,
                110.0,
                false,
                12.0,
                "Phường Mẫu Thử, ngày 02 tháng 3 năm 2026",
            ),
            (190.0, 170.0, true, 16.0, "GIẤY XÁC NHẬN (MẪU THỬ)"),
            (
                70.0,
                220.0,
                false,
                13.0,
                "Ủy ban nhân dân phường Mẫu Thử xác nhận:",
            ),
            (
                70.0,
                245.0,
                false,
                13.0,
                "Ông/bà: Trần Văn Thử          Sinh ngày: 01/01/1990",
            ),
            (
                70.0,
                270.0,
                false,
                13.0,
                "Số định danh cá nhân: 000000000000 (số giả, dùng để kiểm thử)",
            ),
            (
                70.0,
                295.0,
                false,
                13.0,
                "Nơi thường trú: số 1 đường Mẫu, phường Mẫu Thử, tỉnh Thử Nghiệm",
            ),
            (
                70.0,
                320.0,
                false,
                13.0,
                "Nội dung: hiện đang cư trú tại địa phương, chấp hành tốt chính sách,",
            ),
            (
                70.0,
                345.0,
                false,
                13.0,
                "pháp luật của Nhà nước và quy định của địa phương.",
            ),
            (
                70.0,
                370.0,
                false,
                13.0,
                "Giấy xác nhận có giá trị trong thời hạn 06 tháng kể từ ngày ký.",
            ),
            (350.0, 440.0, true, 13.0, "TM. ỦY BAN NHÂN DÂN"),
            (375.0, 458.0, true, 13.0, "CHỦ TỊCH"),
            (360.0, 600.0, true, 13.0, "Lê Thị Mẫu"),
            (
                90.0,
                780.0,
                false,
                10.0,
                "TÀI LIỆU MẪU ĐỂ KIỂM THỬ PHẦN MỀM – KHÔNG CÓ GIÁ TRỊ PHÁP LÝ",
            ),
        ],
        true,
    );
    let a6 = render(
        (298.0, 420.0),
        &[
            (40.0, 50.0, true, 11.0, "PHIẾU TIẾP NHẬN (MẪU THỬ)"),
            (25.0, 90.0, false, 11.0, "Mã hồ sơ: H99.00.00-260302-0001"),
            (
                25.0,
                110.0,
                false,
                11.0,
                "Thủ tục: 2.000815 – Chứng thực bản sao",
            ),
            (25.0, 130.0, false, 11.0, "Người nộp: Trần Văn Thử"),
            (25.0, 150.0, false, 11.0, "Ngày hẹn trả: 03/3/2026"),
            (
                25.0,
                390.0,
                false,
                8.0,
                "Tài liệu mẫu để kiểm thử – không có giá trị pháp lý",
            ),
        ],
        false,
    );
    let out = root.join("tests/data");
    std::fs::create_dir_all(&out).unwrap();
    let a4_pdf = write_temp(dir.path(), "a4.pdf", &a4);
    let a6_pdf = write_temp(dir.path(), "a6.pdf", &a6);
    let (ok, msg) = tool_ok(
        Command::new("pdftoppm")
            .args([
                "-r",
                "300",
                "-gray",
                "-jpeg",
                "-jpegopt",
                "quality=45",
                "-singlefile",
            ])
            .arg(&a4_pdf)
            .arg(out.join("sample-scan")),
    );
    assert!(ok, "{msg}");
    let (ok, msg) = tool_ok(
        Command::new("pdftoppm")
            .args(["-r", "200", "-gray", "-png", "-singlefile"])
            .arg(&a6_pdf)
            .arg(out.join("sample-scan")),
    );
    assert!(ok, "{msg}");
}
