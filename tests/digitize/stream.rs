//! Digitising from files without holding them: the batch path reads each scan to check it
//! and copies it into the output when its page is written. Also: the blank-page check
//! reads a page to its end when it has to, and the parallel run keeps upload order.

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use saoy::digitize::from_disk::{FilesError, digitize_files};
use saoy::digitize::{
    self, BlankPages, DecodeLimits, DigitizeError, DigitizeOptions, DocumentPolicy, UploadedFile,
};
use saoy::pdf::{PdfError, ScanContent, assemble_scan, assemble_scan_to};

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn content() -> ScanContent {
    ScanContent {
        id: "0190f2c4-0000-7000-8000-000000000000".into(),
        title: "stream".into(),
        agency: "UBND".into(),
        facts: vec![],
        pdfa: true,
        created: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
    }
}

/// `n` distinct copies of the sample scan (a COM segment after SOI), plus a grey JPEG.
fn shelf(dir: &Path, n: usize) -> Vec<PathBuf> {
    let sample = data("sample-scan.jpg");
    let mut paths: Vec<PathBuf> = (0..n)
        .map(|i| {
            let comment = format!("page {i:04}");
            let mut d = sample[..2].to_vec();
            d.extend_from_slice(&[0xFF, 0xFE]);
            d.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
            d.extend_from_slice(comment.as_bytes());
            d.extend_from_slice(&sample[2..]);
            let p = dir.join(format!("p{i:03}.jpg"));
            std::fs::write(&p, d).unwrap();
            p
        })
        .collect();
    let grey = image::GrayImage::from_fn(600, 400, |x, y| image::Luma([((x + y) % 200) as u8]));
    let out = crate::support::jpeg_at_dpi(&grey, 300, 80);
    let p = dir.join("z-grey.jpg");
    std::fs::write(&p, out).unwrap();
    paths.push(p);
    paths
}

/// The `/DCTDecode` streams of `pdf`, in page order.
fn jpeg_streams(pdf: &[u8]) -> Vec<Vec<u8>> {
    let doc = lopdf::Document::load_mem(pdf).unwrap();
    let mut out = Vec::new();
    for (_, page) in doc.get_pages() {
        let page = doc.get_dictionary(page).unwrap();
        let resources = match page.get(b"Resources").unwrap() {
            lopdf::Object::Reference(r) => doc.get_dictionary(*r).unwrap(),
            o => o.as_dict().unwrap(),
        };
        let xobjects = resources.get(b"XObject").unwrap().as_dict().unwrap();
        for (_, x) in xobjects {
            let s = doc
                .get_object(x.as_reference().unwrap())
                .unwrap()
                .as_stream()
                .unwrap();
            if s.dict.get(b"Filter").and_then(|f| f.as_name()).ok() == Some(b"DCTDecode") {
                out.push(s.content.clone());
            }
        }
    }
    out
}

fn pdfv_failures(path: &Path) -> Vec<String> {
    let out = Command::new("pdfv")
        .args(["validate", "--flavour", "pdfa-2b", "--format", "json"])
        .arg(path)
        .output()
        .expect("pdfv is installed");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // pdfv cannot parse xml:lang in XMP and then misses the identification schema (see
    // tests/digitize_pdfa.rs); those three rules are checked there by hand.
    let gap = report
        .to_string()
        .contains("unknown XMP namespace prefix xml");
    let mut failed = Vec::new();
    for profile in report["profileReports"].as_array().unwrap() {
        for f in profile["failedAssertions"].as_array().into_iter().flatten() {
            let rule = f["ruleId"].as_str().unwrap_or_default();
            if gap && rule.starts_with("iso-19005-2-6-6-4-") {
                continue;
            }
            failed.push(format!("{rule}: {}", f["message"]));
        }
    }
    failed
}

#[test]
fn streamed_pdf_embeds_the_files_byte_for_byte_and_is_pdfa() {
    let dir = tempfile::tempdir().unwrap();
    let paths = shelf(dir.path(), 12);
    let policy = DocumentPolicy::default();
    let d = digitize_files(
        &paths,
        &DigitizeOptions::default(),
        &policy,
        &DecodeLimits::default(),
    )
    .unwrap();
    assert_eq!(d.pages().len(), 13);
    // No JPEG bytes are kept: every page refers to its file.
    for (i, page) in d.pages().iter().enumerate() {
        let f = d.jpeg_file(i).expect("JPEG left on disk");
        assert_eq!(f.path, paths[i]);
        let digitize::Page::Image {
            image: digitize::PageImage::Jpeg { data, .. },
            ..
        } = page
        else {
            panic!("page {i} is not a JPEG page");
        };
        assert!(data.is_empty());
    }
    let out_path = dir.path().join("out.pdf");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out_path).unwrap());
    let written = assemble_scan_to(&d, &content(), &mut file).unwrap();
    drop(file);
    let pdf = std::fs::read(&out_path).unwrap();
    assert_eq!(written.bytes, pdf.len() as u64);
    assert_eq!(written.page_count, 13);
    assert!(written.pdfa);
    let streams = jpeg_streams(&pdf);
    assert_eq!(streams.len(), 13);
    for (s, p) in streams.iter().zip(&paths) {
        assert!(*s == std::fs::read(p).unwrap(), "{} differs", p.display());
    }
    let failures = pdfv_failures(&out_path);
    assert!(failures.is_empty(), "{failures:#?}");

    // The same document built in memory has the same layout and size.
    let uploads: Vec<UploadedFile> = paths
        .iter()
        .map(|p| UploadedFile {
            name: p.file_name().unwrap().to_string_lossy().into_owned(),
            media_type: None,
            data: Bytes::from(std::fs::read(p).unwrap()),
        })
        .collect();
    let mem = digitize::digitize_with(
        &uploads,
        &DigitizeOptions::default(),
        &policy,
        &DecodeLimits::default(),
    )
    .unwrap();
    let built = assemble_scan(&mem, &content()).unwrap();
    assert_eq!(built.pdf.len(), pdf.len());
    assert_eq!(jpeg_streams(&built.pdf), streams);

    // Compact: beyond the JPEG bytes, little more than 300 bytes per page (page, image
    // header, two cross-reference entries) and the fixed PDF/A parts (XMP, ICC profile).
    let jpeg_bytes: usize = streams.iter().map(Vec::len).sum();
    let overhead = pdf.len() - jpeg_bytes;
    assert!(overhead < 6_000 + 13 * 330, "{overhead} bytes of structure");
}

#[test]
fn a_file_changed_after_its_check_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let paths = shelf(dir.path(), 2);
    let d = digitize_files(
        &paths,
        &DigitizeOptions::default(),
        &DocumentPolicy::default(),
        &DecodeLimits::default(),
    )
    .unwrap();
    // Same length, one byte different in the image data.
    let mut changed = std::fs::read(&paths[1]).unwrap();
    let n = changed.len();
    changed[n / 2] ^= 0x01;
    std::fs::write(&paths[1], changed).unwrap();
    let mut out = Vec::new();
    let err = assemble_scan_to(&d, &content(), &mut out).unwrap_err();
    assert!(matches!(err, PdfError::SourceChanged(_)), "{err:?}");
    // Gone altogether.
    std::fs::remove_file(&paths[0]).unwrap();
    assert!(assemble_scan_to(&d, &content(), &mut Vec::new()).is_err());
}

#[test]
fn files_are_refused_as_uploads_are() {
    let dir = tempfile::tempdir().unwrap();
    let paths = shelf(dir.path(), 3);
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"not a scan").unwrap();
    let missing = dir.path().join("missing.jpg");
    let opts = DigitizeOptions::default();
    let run = |files: &[PathBuf]| {
        digitize_files(
            files,
            &opts,
            &DocumentPolicy::default(),
            &DecodeLimits::default(),
        )
    };
    let err = run(&[paths[0].clone(), text.clone(), missing.clone()]).unwrap_err();
    assert!(
        matches!(
            err,
            FilesError::Digitize(DigitizeError::UnknownType { ref file, .. }) if file.index == 1
        ),
        "{err:?}"
    );
    let err = run(&[paths[0].clone(), missing.clone(), text]).unwrap_err();
    assert!(matches!(err, FilesError::Read { .. }), "{err:?}");
    assert!(err.to_string().starts_with("cannot read "), "{err}");
    // Too large to read is a memory limit, refused before reading.
    let small = DecodeLimits {
        max_decoded_bytes: 100_000,
        ..DecodeLimits::default()
    };
    let err = digitize_files(&paths, &opts, &DocumentPolicy::default(), &small).unwrap_err();
    assert!(
        matches!(
            err,
            FilesError::Digitize(DigitizeError::TooMuchMemory { ref file, .. }) if file.index == 0
        ),
        "{err:?}"
    );
    assert!(matches!(
        run(&[]).unwrap_err(),
        FilesError::Digitize(DigitizeError::NoFiles)
    ));
}

/// A 300 dpi A4 page of scanner noise, with a dark mark of `mark` × 12 pixels near the
/// bottom right corner.
fn a4_with_mark_at_the_bottom(mark: u32) -> Vec<u8> {
    let mut img = image::RgbImage::from_fn(2480, 3508, |x, y| {
        let mut h = x.wrapping_mul(0x9E37_79B9) ^ y.wrapping_mul(0x85EB_CA6B);
        h ^= h >> 15;
        h = h.wrapping_mul(0x2C1B_3C6D);
        let p = 232 + (h >> 24) as u8 % 16;
        image::Rgb([p, p, p - 3])
    });
    for y in 3400..3412 {
        for x in 2000..2000 + mark {
            img.put_pixel(x, y, image::Rgb([20, 20, 25]));
        }
    }
    crate::support::jpeg_at_dpi(&img, 300, 85)
}

#[test]
fn a_page_blank_but_for_a_mark_at_its_foot_is_not_blank() {
    let strict = DocumentPolicy {
        blank_pages: BlankPages::Refuse,
        ..DocumentPolicy::default()
    };
    let upload = |data: Vec<u8>| UploadedFile {
        name: "page.jpg".into(),
        media_type: None,
        data: Bytes::from(data),
    };
    let run = |data: Vec<u8>| {
        digitize::digitize_with(
            &[upload(data)],
            &DigitizeOptions::default(),
            &strict,
            &DecodeLimits::default(),
        )
    };
    // 300 × 12 = 3 600 ink pixels of 8.7 M (blank is under ≈ 2 610), in the last rows.
    assert!(run(a4_with_mark_at_the_bottom(300)).is_ok());
    // 100 × 12 = 1 200: still blank.
    let err = run(a4_with_mark_at_the_bottom(100)).unwrap_err();
    assert!(matches!(err, DigitizeError::BlankPage { .. }), "{err:?}");
}

#[test]
fn the_parallel_run_reports_in_upload_order() {
    let sample = data("sample-scan.jpg");
    let good = |i: usize| UploadedFile {
        name: format!("{i}.jpg"),
        media_type: None,
        data: Bytes::from(sample.clone()),
    };
    let bad = |i: usize| UploadedFile {
        name: format!("{i}.jpg"),
        media_type: None,
        data: Bytes::from(sample[..sample.len() / 2].to_vec()),
    };
    let blank = UploadedFile {
        name: "blank.png".into(),
        media_type: None,
        data: {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, 300, 300);
            enc.set_color(png::ColorType::Grayscale);
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: 11811,
                yppu: 11811,
                unit: png::Unit::Meter,
            }));
            enc.write_header()
                .unwrap()
                .write_image_data(&[255u8; 300 * 300])
                .unwrap();
            Bytes::from(out)
        },
    };
    let opts = DigitizeOptions::default();
    let limits = DecodeLimits::default();
    // Damaged files 3 and 6: file 3 is named, whichever worker got there first.
    let mut files: Vec<UploadedFile> = (0..8).map(good).collect();
    files[3] = bad(3);
    files[6] = bad(6);
    for _ in 0..5 {
        let err = digitize::digitize_with(&files, &opts, &DocumentPolicy::default(), &limits)
            .unwrap_err();
        assert_eq!(err.file().map(|f| f.index), Some(3), "{err:?}");
    }
    // A policy refusal on an earlier page wins over damage later on.
    files[1] = blank.clone();
    let strict = DocumentPolicy {
        blank_pages: BlankPages::Refuse,
        ..DocumentPolicy::default()
    };
    let err = digitize::digitize_with(&files, &opts, &strict, &limits).unwrap_err();
    assert!(matches!(err, DigitizeError::BlankPage { ref file, .. } if file.index == 1));
    // Warnings and pages come in upload order.
    let mut files: Vec<UploadedFile> = (0..9).map(good).collect();
    files[2] = blank.clone();
    files[7] = blank;
    let d = digitize::digitize_with(&files, &opts, &DocumentPolicy::default(), &limits).unwrap();
    assert_eq!(d.pages.len(), 9);
    let warned: Vec<usize> = d.warnings.iter().map(|w| w.page).collect();
    assert_eq!(warned, [3, 8]);
    for (i, p) in d.pages.iter().enumerate() {
        let digitize::Page::Image { source_file, .. } = p else {
            panic!()
        };
        assert_eq!(*source_file, i);
    }
    // The page limit is counted in order too.
    let limited = DigitizeOptions {
        max_pages: 4,
        ..DigitizeOptions::default()
    };
    let err =
        digitize::digitize_with(&files, &limited, &DocumentPolicy::default(), &limits).unwrap_err();
    assert!(matches!(err, DigitizeError::TooManyPages { ref file, .. } if file.index == 4));
}
