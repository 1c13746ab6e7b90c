//! Digitise + assemble vs img2pdf on the same files, in the same run:
//! `cargo bench --bench digitize`.
//!
//! The set: N pages of a 300 dpi A4 JPEG scan (tests/data/sample-scan.jpg, each copy made
//! distinct by a comment segment so nothing can be deduplicated). saoy reads the files,
//! digitises them (sniffing, structure, dpi, blank and colour checks) and builds the PDF/A
//! pages (`assemble_scan`) and the certified copy (`assemble_with`, + certification page);
//! img2pdf (PyPI, installed if missing) converts the same files in its own Python process,
//! timed inside that process, both plain and with its `--pdfa` option (PDF/A-1b) given the
//! very sRGB profile saoy embeds. The batch path (`saoy digitize DIR --out DIR`), which
//! streams the scans from their files into the output file, is timed too. Peak memory
//! (VmHWM / ru_maxrss) is measured in child processes for 10, 50 and 100 pages: the batch
//! (streaming) and the certified copy (in memory, as the gRPC service builds it). Figures
//! are printed, never asserted. `SAOY_BENCH_PROFILE=N` (with `SAOY_BENCH_NO_BLANK` to skip
//! the blank-page check) only builds saoy's pages N times and prints each run's steps, for
//! profilers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use bytes::Bytes;
use saoy::app::batch::{self, BatchOptions, DocumentResult};
use saoy::digitize::{
    self, BlankPages, DecodeLimits, DigitizeOptions, DocumentPolicy, UploadedFile,
};
use saoy::pdf::{ArchiveFacts, CopyContent, ScanContent, assemble_scan, assemble_with};

const RUNS: usize = 9;

fn main() {
    if let Some(pos) = std::env::args().position(|a| a == "--child") {
        let args: Vec<String> = std::env::args().collect();
        child(Path::new(&args[pos + 1]), &args[pos + 2]);
        return;
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // For profilers: only saoy's pages, many times.
    if let Ok(runs) = std::env::var("SAOY_BENCH_PROFILE") {
        let dir = tempfile::tempdir().expect("temp dir");
        let files = make_set(dir.path(), 50);
        let blank = if std::env::var_os("SAOY_BENCH_NO_BLANK").is_some() {
            Blank::Skip
        } else {
            Blank::Check
        };
        for _ in 0..runs.parse().unwrap_or(100) {
            let (_, steps) = saoy_run(&files, Mode::Pages, blank);
            println!(
                "read {:.1} ms, digitise {:.1} ms, assemble {:.1} ms",
                steps[0] * 1e3,
                steps[1] * 1e3,
                steps[2] * 1e3
            );
        }
        return;
    }
    ensure_img2pdf();
    let dir = tempfile::tempdir().expect("temp dir");
    let files100 = make_set(dir.path(), 100);
    let files50 = files100[..50].to_vec();
    let total: u64 = files50
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    println!(
        "input: 50 pages, 300 dpi A4 JPEG, {:.1} MiB in total",
        total as f64 / 1_048_576.0
    );

    let (saoy_scan_s, scan_len) = median(|| saoy_run(&files50, Mode::Pages, Blank::Check).0);
    let (saoy_fast_s, _) = median(|| saoy_run(&files50, Mode::Pages, Blank::Skip).0);
    let (saoy_copy_s, copy_len) = median(|| saoy_run(&files50, Mode::Copy, Blank::Check).0);
    let shelf50 = shelf(dir.path(), &files50);
    let (saoy_batch_s, batch_len) = median(|| batch_run(&shelf50));
    let (img2pdf_s, img2pdf_len) = img2pdf_time(&files50, None);
    let icc = dir.path().join("srgb.icc");
    let icc = saoy_icc(&files50[..1], &icc).then_some(icc);
    let (img2pdfa_s, img2pdfa_len) = match &icc {
        Some(icc) => img2pdf_time(&files50, Some(icc)),
        None => (f64::NAN, 0),
    };
    println!("time (median of {RUNS}):");
    let row = |what: &str, s: f64| println!("  {what:<44} {:>8.1} ms", s * 1e3);
    row("saoy digitise + PDF/A pages", saoy_scan_s);
    row("saoy same, blank-page check off", saoy_fast_s);
    row("saoy digitise + certified copy", saoy_copy_s);
    row(
        "saoy batch: files → PDF/A file (streaming, fsync)",
        saoy_batch_s,
    );
    row("img2pdf (in-process, Python)", img2pdf_s);
    row("img2pdf --pdfa (PDF/A-1b, same sRGB profile)", img2pdfa_s);
    println!(
        "  speed-up vs img2pdf: {:.2}× (pages), {:.2}× (pages, no blank check), {:.2}× (certified copy), {:.2}× (batch)",
        img2pdf_s / saoy_scan_s,
        img2pdf_s / saoy_fast_s,
        img2pdf_s / saoy_copy_s,
        img2pdf_s / saoy_batch_s
    );
    println!(
        "  speed-up vs img2pdf --pdfa: {:.2}× (pages), {:.2}× (certified copy)",
        img2pdfa_s / saoy_scan_s,
        img2pdfa_s / saoy_copy_s
    );
    for (what, blank) in [("with", Blank::Check), ("without", Blank::Skip)] {
        let (_, steps) = saoy_run(&files50, Mode::Pages, blank);
        println!(
            "  saoy's time (pages, {what} blank check): read {:.1} ms, digitise {:.1} ms, assemble {:.1} ms",
            steps[0] * 1e3,
            steps[1] * 1e3,
            steps[2] * 1e3
        );
    }
    println!("output size:");
    println!("  saoy PDF/A pages     {scan_len:>10} bytes");
    println!("  saoy certified copy  {copy_len:>10} bytes");
    println!("  saoy batch file      {batch_len:>10} bytes");
    println!("  img2pdf              {img2pdf_len:>10} bytes (not PDF/A)");
    println!("  img2pdf --pdfa       {img2pdfa_len:>10} bytes (PDF/A-1b)");
    println!(
        "  ratio saoy/img2pdf: {:.4} (pages), {:.4} (certified copy); saoy - img2pdf = {:+} bytes (pages)",
        scan_len as f64 / img2pdf_len as f64,
        copy_len as f64 / img2pdf_len as f64,
        scan_len as i64 - img2pdf_len as i64
    );
    println!(
        "  ratio saoy/img2pdf --pdfa: {:.4} (pages), {:.4} (certified copy); saoy - img2pdf --pdfa = {:+} bytes (pages)",
        scan_len as f64 / img2pdfa_len as f64,
        copy_len as f64 / img2pdfa_len as f64,
        scan_len as i64 - img2pdfa_len as i64
    );

    let files10 = &files50[..10];
    let list = |files: &[PathBuf]| {
        let l = dir.path().join(format!("list-{}.txt", files.len()));
        std::fs::write(
            &l,
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
        l
    };
    let lists = [list(files10), list(&files50), list(&files100)];
    println!("peak memory (MiB), 10 → 50 → 100 pages:");
    let ours: Vec<f64> = lists.iter().map(|l| peak_saoy(l, "copy")).collect();
    let streamed: Vec<f64> = lists.iter().map(|l| peak_saoy(l, "batch")).collect();
    let theirs: Vec<f64> = lists.iter().map(|l| peak_img2pdf(l)).collect();
    let baseline = peak_saoy(&lists[0], "none");
    let sizes: Vec<f64> = [10, 50, 100]
        .iter()
        .map(|&n| {
            files100[..n]
                .iter()
                .map(|f| std::fs::metadata(f).unwrap().len())
                .sum::<u64>() as f64
                / 1_048_576.0
        })
        .collect();
    let per_page = |v: &[f64]| (v[2] - v[0]) / 90.0;
    println!(
        "  saoy (certified copy)  {:>7.1} → {:>7.1} → {:>7.1}  (+{:.2} MiB per page; process baseline {:.1})",
        ours[0],
        ours[1],
        ours[2],
        per_page(&ours),
        baseline
    );
    println!(
        "  saoy batch (streaming) {:>7.1} → {:>7.1} → {:>7.1}  (+{:.2} MiB per page)",
        streamed[0],
        streamed[1],
        streamed[2],
        per_page(&streamed)
    );
    println!(
        "  img2pdf                {:>7.1} → {:>7.1} → {:>7.1}  (+{:.2} MiB per page)",
        theirs[0],
        theirs[1],
        theirs[2],
        per_page(&theirs)
    );
    println!(
        "  input: {:.1} → {:.1} → {:.1} MiB ({:.2} MiB per page); the PDF itself is about as large",
        sizes[0],
        sizes[1],
        sizes[2],
        per_page(&sizes)
    );
}

/// Writes the OutputIntent profile of saoy's PDF/A output to `to` (for `img2pdf --pdfa`).
fn saoy_icc(files: &[PathBuf], to: &Path) -> bool {
    let pdf = saoy_pdf(files, Mode::Pages, Blank::Skip);
    let Ok(doc) = lopdf::Document::load_mem(&pdf) else {
        return false;
    };
    // The output intent may be an object of its own or written inside the catalog.
    let mut intents: Vec<&lopdf::Dictionary> = Vec::new();
    for object in doc.objects.values() {
        if let lopdf::Object::Dictionary(d) = object {
            intents.push(d);
            if let Ok(lopdf::Object::Array(items)) = d.get(b"OutputIntents") {
                intents.extend(items.iter().filter_map(|i| i.as_dict().ok()));
            }
        }
    }
    for d in intents {
        if d.get(b"S").and_then(lopdf::Object::as_name).ok() == Some(b"GTS_PDFA1".as_slice())
            && let Ok(id) = d
                .get(b"DestOutputProfile")
                .and_then(lopdf::Object::as_reference)
            && let Ok(lopdf::Object::Stream(s)) = doc.get_object(id)
            && let Ok(icc) = s.decompressed_content()
        {
            return std::fs::write(to, icc).is_ok();
        }
    }
    false
}

/// N distinct copies of the sample scan: a COM segment with the page number after SOI.
fn make_set(dir: &Path, n: usize) -> Vec<PathBuf> {
    let sample =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sample-scan.jpg"))
            .expect("sample scan");
    (0..n)
        .map(|i| {
            let comment = format!("page {i:04}");
            let mut data = Vec::with_capacity(sample.len() + 16);
            data.extend_from_slice(&sample[..2]);
            data.extend_from_slice(&[0xFF, 0xFE]);
            data.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
            data.extend_from_slice(comment.as_bytes());
            data.extend_from_slice(&sample[2..]);
            let path = dir.join(format!("page-{i:04}.jpg"));
            std::fs::write(&path, data).unwrap();
            path
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Pages,
    Copy,
}

#[derive(Clone, Copy, PartialEq)]
enum Blank {
    Check,
    Skip,
}

fn median(mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut times = Vec::new();
    let mut len = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        len = f();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[RUNS / 2], len)
}

fn content() -> CopyContent {
    CopyContent {
        copy_id: "bench".into(),
        qr_payload: "bench".into(),
        statement: "Chứng thực bản sao đúng với bản chính.".into(),
        reference: "Số chứng thực: 1, quyển số 01/2026-SCT/BS".into(),
        date_line: "Ngày 24 tháng 11 năm 2026".into(),
        certifier_title: "Phó Chủ tịch".into(),
        certifier_name: "Nguyễn Văn A".into(),
        agency: "UBND phường Ba Đình".into(),
        stamp_lines: vec!["Bản sao điện tử".into(), "2026-11-24T09:15:30+07:00".into()],
        title: "bench".into(),
        signing_time: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        pdfa: true,
    }
}

fn saoy_pdf(files: &[PathBuf], mode: Mode, blank: Blank) -> Vec<u8> {
    saoy_build(files, mode, blank).0
}

/// Reads, digitises and assembles; returns the PDF length and the seconds spent reading,
/// digitising and assembling.
fn saoy_run(files: &[PathBuf], mode: Mode, blank: Blank) -> (usize, [f64; 3]) {
    let (pdf, steps) = saoy_build(files, mode, blank);
    (pdf.len(), steps)
}

fn saoy_build(files: &[PathBuf], mode: Mode, blank: Blank) -> (Vec<u8>, [f64; 3]) {
    let t0 = Instant::now();
    let uploads: Vec<UploadedFile> = files
        .iter()
        .map(|f| UploadedFile {
            name: f.file_name().unwrap().to_string_lossy().into_owned(),
            media_type: None,
            data: Bytes::from(std::fs::read(f).unwrap()),
        })
        .collect();
    let t1 = Instant::now();
    let policy = DocumentPolicy {
        blank_pages: if blank == Blank::Check {
            BlankPages::Warn
        } else {
            BlankPages::Allow
        },
        ..DocumentPolicy::default()
    };
    let d = digitize::digitize_with(
        &uploads,
        &DigitizeOptions::default(),
        &policy,
        &DecodeLimits::default(),
    )
    .expect("digitize");
    let t2 = Instant::now();
    let pdf = if mode == Mode::Copy {
        assemble_with(&d, &content(), &ArchiveFacts::default())
            .expect("assemble")
            .pdf
    } else {
        assemble_scan(
            &d,
            &ScanContent {
                id: "bench".into(),
                title: "bench".into(),
                agency: "bench".into(),
                facts: vec![],
                pdfa: true,
                created: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
            },
        )
        .expect("assemble")
        .pdf
    };
    let t3 = Instant::now();
    std::hint::black_box(&pdf);
    (
        pdf,
        [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ],
    )
}

/// A shelf for the batch: `dir/shelf-N/doc/` holding links to `files` (one document).
fn shelf(dir: &Path, files: &[PathBuf]) -> PathBuf {
    let shelf = dir.join(format!("shelf-{}", files.len()));
    let doc = shelf.join("doc");
    std::fs::create_dir_all(&doc).unwrap();
    for f in files {
        let link = doc.join(f.file_name().unwrap());
        if !link.exists() {
            std::os::unix::fs::symlink(f, link).unwrap();
        }
    }
    shelf
}

/// Runs the batch on `shelf` into a fresh output directory; returns the PDF's length.
fn batch_run(shelf: &Path) -> usize {
    let out = tempfile::tempdir().expect("temp dir");
    let opts = BatchOptions {
        policy: DocumentPolicy {
            blank_pages: BlankPages::Warn,
            ..DocumentPolicy::default()
        },
        agency: "bench".into(),
        ..BatchOptions::default()
    };
    let summary = batch::digitize_dir(shelf, out.path(), &opts, |step| {
        assert!(
            matches!(step.outcome, DocumentResult::Done(_)),
            "{:?}",
            step.outcome
        );
    })
    .expect("batch");
    assert_eq!(summary.done, 1);
    std::fs::metadata(out.path().join("doc.pdf")).unwrap().len() as usize
}

/// Child process: digitise the listed files as a certified copy in memory ("copy"), with
/// the batch ("batch"), or nothing ("none"); print VmHWM.
fn child(list: &Path, what: &str) {
    let files: Vec<PathBuf> = std::fs::read_to_string(list)
        .unwrap()
        .lines()
        .map(PathBuf::from)
        .collect();
    if what == "copy" {
        saoy_run(&files, Mode::Copy, Blank::Check);
    } else if what == "batch" {
        let dir = tempfile::tempdir().expect("temp dir");
        batch_run(&shelf(dir.path(), &files));
    }
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    println!("{}", hwm / 1024.0);
}

fn peak_saoy(list: &Path, what: &str) -> f64 {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .arg("--child")
        .arg(list)
        .arg(what)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN)
}

const IMG2PDF_TIME: &str = r#"
import sys, time, img2pdf
files = sys.argv[3:]
runs = int(sys.argv[1])
opts = {"pdfa": sys.argv[2]} if sys.argv[2] else {}
times = []
for _ in range(runs):
    t = time.perf_counter()
    pdf = img2pdf.convert(files, **opts)
    times.append(time.perf_counter() - t)
times.sort()
print(times[runs // 2], len(pdf))
"#;

const IMG2PDF_PEAK: &str = r#"
import sys, resource, img2pdf
files = open(sys.argv[1]).read().split("\n")
pdf = img2pdf.convert(files)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"#;

fn img2pdf_time(files: &[PathBuf], pdfa_icc: Option<&Path>) -> (f64, usize) {
    let icc = pdfa_icc
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let out = Command::new("python3")
        .args(["-c", IMG2PDF_TIME, &RUNS.to_string(), &icc])
        .args(files)
        .output()
        .expect("python3");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let secs = parts
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN);
    let len = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    if len == 0 {
        eprintln!("img2pdf failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    (secs, len)
}

fn peak_img2pdf(list: &Path) -> f64 {
    let out = Command::new("python3")
        .args(["-c", IMG2PDF_PEAK])
        .arg(list)
        .output()
        .expect("python3");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(f64::NAN)
}

fn ensure_img2pdf() {
    let present = Command::new("python3")
        .args(["-c", "import img2pdf"])
        .status()
        .is_ok_and(|s| s.success());
    if !present {
        eprintln!("installing img2pdf from PyPI");
        let _ = Command::new("python3")
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "img2pdf",
            ])
            .status();
    }
}
