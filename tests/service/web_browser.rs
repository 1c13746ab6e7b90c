//! The public page in a real browser: headless Chromium (Debian's chromium and
//! chromium-driver, driven by Python selenium with /usr/bin/chromedriver given) opens the
//! URL decoded (pdftoppm, then zbarimg of zbar-tools) from a copy's QR code, reads the
//! standing, uploads the genuine copy, one with a byte changed and a revoked one, and
//! switches to English. Screenshots at a phone's size go to the test's output directory
//! (`target/tmp/web-browser/`; docs/screenshots/ keeps a copy for the README).
//! A missing tool fails the test under `CI=true` and is reported loudly elsewhere.

use std::path::Path;
use std::process::Command;

use crate::support::corpus::{missing, tool};
use crate::support::web::{certify_sample, one_byte_changed, revoke, start_web_with};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Every tool of this test is there (or [`missing`] said which is not).
fn tools_present() -> bool {
    let mut ok = tool("pdftoppm", "-v", "Debian's poppler-utils");
    ok &= tool("zbarimg", "--version", "Debian's zbar-tools");
    ok &= tool("chromium", "--version", "Debian's chromium");
    if !Path::new(CHROMEDRIVER).is_file() {
        missing(
            CHROMEDRIVER,
            "install Debian's chromium-driver (scripts/test does)",
        );
        ok = false;
    }
    let selenium = Command::new("python3")
        .args(["-c", "import selenium"])
        .status()
        .is_ok_and(|s| s.success());
    if !selenium {
        missing(
            "Python selenium",
            "pip install the version pinned in scripts/test",
        );
        ok = false;
    }
    ok
}

/// The text of the QR code on the last page of `pdf` (rendered by pdftoppm, decoded by
/// zbarimg).
fn decode_qr(pdf: &Path, pages: usize, dir: &Path) -> String {
    let prefix = dir.join("qr-page");
    let out = Command::new("pdftoppm")
        .args([
            "-r",
            "150",
            "-png",
            "-f",
            &pages.to_string(),
            "-l",
            &pages.to_string(),
        ])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm runs");
    assert!(
        out.status.success(),
        "pdftoppm: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("qr-page"))
        })
        .expect("a rendered page");
    let out = Command::new("zbarimg")
        .args(["--raw", "-q", "-Sdisable", "-Sqrcode.enable"])
        .arg(&png)
        .output()
        .expect("zbarimg runs");
    assert!(
        out.status.success(),
        "zbarimg found no QR code on {}",
        png.display()
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_opens_the_qr_code_and_reads_three_verdicts() {
    if !tools_present() {
        return;
    }
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-browser");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let t = start_web_with(|_| {}).await;
    let (record, pdf) = certify_sample(&t, "web-browser-1").await;
    let (revoked, revoked_pdf) = certify_sample(&t, "web-browser-2").await;
    revoke(&t, &revoked.id, "Quyết định số 12/QĐ-UBND ngày 01/12/2026").await;
    let genuine = out.join("copy.pdf");
    let changed = out.join("copy-one-byte-changed.pdf");
    let revoked_file = out.join("copy-revoked.pdf");
    std::fs::write(&genuine, &pdf).unwrap();
    std::fs::write(&changed, one_byte_changed(&pdf)).unwrap();
    std::fs::write(&revoked_file, &revoked_pdf).unwrap();

    // The QR code leads to the copy's page on this listener.
    let pages = lopdf::Document::load_mem(&pdf).unwrap().get_pages().len();
    let url = decode_qr(&genuine, pages, &out);
    assert_eq!(url, format!("{}/c/{}", t.base, record.id));

    let script = crate::support::crate_dir().join("tests/peers/browser_verdicts.py");
    let args: Vec<String> = [
        CHROMEDRIVER.to_string(),
        url,
        genuine.display().to_string(),
        changed.display().to_string(),
        revoked_file.display().to_string(),
        out.display().to_string(),
    ]
    .into();
    let run = tokio::task::spawn_blocking(move || {
        Command::new("python3").arg(script).args(args).output()
    })
    .await
    .unwrap()
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the browser did not read what a person should:\n{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let seen: serde_json::Value = serde_json::from_str(stdout.trim()).expect("JSON of the steps");
    assert_eq!(seen["html_lang"], "en");
    for name in [
        "verdict-valid",
        "verdict-changed",
        "verdict-revoked",
        "standing-vi",
    ] {
        let png = out.join(format!("{name}.png"));
        let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert!(bytes.starts_with(b"\x89PNG"), "{} is a PNG", png.display());
    }
    eprintln!("screenshots in {}", out.display());
}
