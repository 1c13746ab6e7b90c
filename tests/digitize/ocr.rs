//! Vietnamese OCR: a page of Vietnamese text is typeset, rasterised at 300 dpi to a TIFF by
//! poppler, digitised with OCR, assembled; `pdftotext` of the result must give back at least
//! 98 % of the characters, diacritics included (1 − edit distance / length).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use saoy::app::jobs::{JobState, Jobs};
use saoy::digitize::ocr::{self, Tesseract};
use saoy::digitize::{self, DigitizeOptions, UploadedFile};
use saoy::pdf::{ScanContent, assemble_scan};
use unicode_normalization::UnicodeNormalization;

const TEXT: &[&str] = &[
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
    "GIẤY XÁC NHẬN THÔNG TIN VỀ CƯ TRÚ",
    "Ủy ban nhân dân phường Ba Đình xác nhận ông Nguyễn Văn Hùng,",
    "sinh ngày 12 tháng 5 năm 1985, hiện đang cư trú tại số 18 phố",
    "Hoàng Diệu, phường Ba Đình, thành phố Hà Nội. Giấy xác nhận này",
    "có giá trị sử dụng trong thời hạn sáu tháng kể từ ngày ký.",
    "Người được xác nhận chịu trách nhiệm về tính chính xác của",
    "thông tin đã khai báo với cơ quan đăng ký cư trú.",
];

/// Typesets TEXT on an A4 page and rasterises it as a 300 dpi grey LZW TIFF.
fn rendered_page(dir: &Path) -> Vec<u8> {
    use krilla::geom::Point;
    use krilla::page::PageSettings;
    use krilla::text::{Font, TextDirection};
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(root.join("assets/fonts/LiberationSerif-Regular.ttf")).unwrap();
    let font = Font::new(data.into(), 0).unwrap();
    let mut doc = krilla::Document::new();
    let mut page = doc.start_page_with(PageSettings::from_wh(595.0, 842.0).unwrap());
    let mut s = page.surface();
    for (k, line) in TEXT.iter().enumerate() {
        s.draw_text(
            Point::from_xy(60.0, 90.0 + k as f32 * 24.0),
            font.clone(),
            13.0,
            line,
            false,
            TextDirection::Auto,
        );
    }
    s.finish();
    page.finish();
    let pdf = dir.join("typeset.pdf");
    std::fs::write(&pdf, doc.finish().unwrap()).unwrap();
    let out = Command::new("pdftoppm")
        .args([
            "-r",
            "300",
            "-gray",
            "-tiff",
            "-tiffcompression",
            "lzw",
            "-singlefile",
        ])
        .arg(&pdf)
        .arg(dir.join("scan"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("scan.tif")).unwrap()
}

fn normalise(s: &str) -> Vec<char> {
    s.nfc()
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect()
}

fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[test]
fn searchable_copy_gives_back_98_percent_of_vietnamese_characters() {
    let dir = tempfile::tempdir().unwrap();
    let tif = rendered_page(dir.path());
    let files = vec![UploadedFile {
        name: "scan.tif".into(),
        media_type: None,
        data: Bytes::from(tif),
    }];
    let mut d = digitize::digitize(&files, &DigitizeOptions::default()).unwrap();

    // Through the job runner, as the service does: progress is polled, never awaited.
    let jobs: Jobs<digitize::Digitized> = Jobs::new(1, 4, Duration::from_secs(600));
    let id = jobs
        .submit(move |progress| {
            ocr::recognize_pages(&mut d, &Tesseract::default(), |done, total| {
                progress.set(done as u64, total as u64)
            })
            .map_err(|e| e.to_string())?;
            Ok(d)
        })
        .unwrap();
    let status = loop {
        let s = jobs.status(&id).unwrap();
        if matches!(s.state, JobState::Done | JobState::Failed(_)) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.state, JobState::Done, "{status:?}");
    assert_eq!((status.done, status.total), (1, 1));
    let d = jobs.with_result(&id, Clone::clone).unwrap();
    assert!(d.text[0].as_ref().is_some_and(|t| t.words.len() > 50));

    let built = assemble_scan(
        &d,
        &ScanContent {
            id: "ocr-test".into(),
            title: "Giấy xác nhận".into(),
            agency: "UBND phường Ba Đình".into(),
            facts: vec![],
            pdfa: true,
            created: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        },
    )
    .unwrap();
    assert!(built.pdfa, "the text layer must keep PDF/A");
    let pdf = dir.path().join("copy.pdf");
    std::fs::write(&pdf, &built.pdf).unwrap();
    let out = Command::new("pdftotext")
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success());
    let got = normalise(&String::from_utf8_lossy(&out.stdout));
    let want = normalise(&TEXT.join("\n"));
    let distance = edit_distance(&got, &want);
    let ratio = 1.0 - distance as f64 / want.len() as f64;
    println!(
        "OCR character accuracy: {:.2} % ({distance} edits over {} characters)",
        ratio * 100.0,
        want.len()
    );
    assert!(
        ratio >= 0.98,
        "only {:.2} % recovered:\n{}\n---\n{}",
        ratio * 100.0,
        got.iter().collect::<String>(),
        want.iter().collect::<String>()
    );
}
