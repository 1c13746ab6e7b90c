//! The checks a document type's policy asks for, with the clerk's message: resolution,
//! colour where a seal must show, blank pages.

use bytes::Bytes;
use saoy::digitize::{
    self, BlankPages, DecodeLimits, DigitizeError, DigitizeOptions, DocumentPolicy, PolicyBook,
    UploadedFile,
};

fn upload(name: &str, data: Vec<u8>) -> UploadedFile {
    UploadedFile {
        name: name.into(),
        media_type: None,
        data: Bytes::from(data),
    }
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn run(
    files: &[UploadedFile],
    policy: &DocumentPolicy,
) -> Result<digitize::Digitized, DigitizeError> {
    digitize::digitize_with(
        files,
        &DigitizeOptions::default(),
        policy,
        &DecodeLimits::default(),
    )
}

/// A colour JPEG at `dpi`: white with a red seal and a few black lines unless `blank`.
fn colour_jpeg(w: u32, h: u32, dpi: u16, blank: bool) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let noise = ((x * 7 + y * 13) % 5) as u8;
        if blank {
            return image::Rgb([245 - noise, 245 - noise, 243 - noise]);
        }
        let (dx, dy) = (x as i32 - (w as i32 * 3 / 4), y as i32 - (h as i32 * 3 / 4));
        if (dx * dx + dy * dy) < (w as i32 / 8).pow(2) {
            image::Rgb([200, 20, 30])
        } else if y % 40 < 6 && x > w / 10 && x < w * 8 / 10 {
            image::Rgb([10, 10, 10])
        } else {
            image::Rgb([250 - noise, 250 - noise, 250 - noise])
        }
    });
    crate::support::jpeg_at_dpi(&img, dpi, 85)
}

/// A one-channel (grey mode) JPEG at 300 dpi.
fn grey_jpeg() -> Vec<u8> {
    let img = image::GrayImage::from_fn(300, 200, |x, y| image::Luma([((x * 3 + y) % 256) as u8]));
    crate::support::jpeg_at_dpi(&img, 300, 85)
}

fn white_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: 11811,
            yppu: 11811,
            unit: png::Unit::Meter,
        }));
        enc.write_header()
            .unwrap()
            .write_image_data(&vec![255u8; (w * h) as usize])
            .unwrap();
    }
    out
}

#[test]
fn resolution_follows_the_document_type() {
    let archive = DocumentPolicy {
        min_dpi: 300,
        ..DocumentPolicy::default()
    };
    let files = [upload("scan.jpg", colour_jpeg(400, 300, 250, false))];
    assert!(run(&files, &DocumentPolicy::default()).is_ok());
    let err = run(&files, &archive).unwrap_err();
    assert_eq!(
        err.to_string(),
        "file 1 \"scan.jpg\" was scanned at 250 dpi, below the required 300 dpi: scan at 300 dpi or more"
    );
    assert!(!err.is_resource_limit());
}

#[test]
fn sealed_documents_must_be_scanned_in_colour() {
    let book = PolicyBook::builtin();
    let sealed = book.lookup("Giấy khai sinh");
    assert!(sealed.colour_required);
    assert!(
        run(
            &[upload("seal.jpg", colour_jpeg(400, 300, 300, false))],
            sealed
        )
        .is_ok()
    );

    // The colour mode of the scan counts: a colour-mode scan of a grey page passes.
    assert!(
        run(
            &[upload("colour-mode.jpg", data("sample-scan.jpg"))],
            sealed
        )
        .is_ok()
    );
    let err = run(&[upload("grey.jpg", grey_jpeg())], sealed).unwrap_err();
    assert!(
        matches!(err, DigitizeError::ColourRequired { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "file 1 \"grey.jpg\" is scanned in grey or black and white, but this kind of document must be scanned in colour (its seal must show): scan it again in colour"
    );
    let err = run(&[upload("fax.tif", data("bilevel-g4.tif"))], sealed).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("page 1 of file 1 \"fax.tif\" is scanned in grey"),
        "{err}"
    );
    // Other document types take grey scans.
    assert!(
        run(
            &[upload("grey.jpg", grey_jpeg())],
            book.lookup("Sổ tạm trú")
        )
        .is_ok()
    );
}

#[test]
fn blank_pages_are_reported_or_refused() {
    let files = [
        upload("text.jpg", data("sample-scan.jpg")),
        upload("blank.png", white_png(300, 400)),
        upload("blank.jpg", colour_jpeg(600, 800, 300, true)),
        upload("seal.jpg", colour_jpeg(600, 800, 300, false)),
    ];
    let d = run(&files, &DocumentPolicy::default()).unwrap();
    let pages: Vec<usize> = d.warnings.iter().map(|w| w.page).collect();
    assert_eq!(pages, vec![2, 3], "{:?}", d.warnings);
    assert_eq!(
        d.warnings[0].message,
        "file 2 \"blank.png\" looks blank: check that the right side was scanned"
    );

    let strict = DocumentPolicy {
        blank_pages: BlankPages::Refuse,
        ..DocumentPolicy::default()
    };
    let err = run(&files, &strict).unwrap_err();
    assert!(matches!(err, DigitizeError::BlankPage { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "file 2 \"blank.png\" looks blank: remove it or scan the right side of the page"
    );
    let lenient = DocumentPolicy {
        blank_pages: BlankPages::Allow,
        ..DocumentPolicy::default()
    };
    assert!(run(&files, &lenient).unwrap().warnings.is_empty());
    // Black-and-white pages are measured too: the G4 fixture has ink.
    assert!(run(&[upload("g4.tif", data("bilevel-g4.tif"))], &strict).is_ok());
}

/// Scanner noise around a light paper tone, deterministic.
fn paper(x: u32, y: u32) -> u8 {
    let mut h = x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 15;
    h = h.wrapping_mul(0x2C1B_3C6D);
    232 + (h >> 24) as u8 % 16
}

/// An A4 page at 300 dpi (2480 × 3508), JPEG quality 85: scanner noise on paper, a few
/// dust specks, and `lines` lines of dark glyph-like strokes (2–3 px) if any.
fn a4_scan(lines: u32) -> Vec<u8> {
    let mut img = image::RgbImage::from_fn(2480, 3508, |x, y| {
        let p = paper(x, y);
        image::Rgb([p, p, p.saturating_sub(3)])
    });
    for i in 0..60u32 {
        let (x, y) = ((i * 7919) % 2470, (i * 104_729) % 3500);
        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
            img.put_pixel(x + dx, y + dy, image::Rgb([40, 40, 45]));
        }
    }
    for line in 0..lines {
        let top = 1200 + line * 70;
        // "Glyphs" 24 px wide every 32 px: a vertical stem and a bar, 3 px thick.
        for g in 0..40u32 {
            let left = 300 + g * 32;
            for y in top..top + 36 {
                for x in left..left + 3 {
                    img.put_pixel(x, y, image::Rgb([25, 25, 30]));
                }
            }
            for y in top + 16 * (g % 2)..top + 16 * (g % 2) + 3 {
                for x in left..left + 24 {
                    img.put_pixel(x, y, image::Rgb([25, 25, 30]));
                }
            }
        }
    }
    crate::support::jpeg_at_dpi(&img, 300, 85)
}

#[test]
fn dark_text_at_300_dpi_is_ink_and_scanner_noise_is_blank() {
    let strict = DocumentPolicy {
        blank_pages: BlankPages::Refuse,
        ..DocumentPolicy::default()
    };
    // One line of 40 glyphs (≈ 6 800 ink pixels of 8.7 M; blank is under ≈ 2 610).
    let text = run(&[upload("text.jpg", a4_scan(1))], &strict);
    assert!(text.is_ok(), "{text:?}");
    // Noise and 60 dust specks only.
    let err = run(&[upload("noise.jpg", a4_scan(0))], &strict).unwrap_err();
    assert!(matches!(err, DigitizeError::BlankPage { .. }), "{err:?}");
    // The real 300 dpi scan in the fixtures is text.
    assert!(run(&[upload("scan.jpg", data("sample-scan.jpg"))], &strict).is_ok());
}
