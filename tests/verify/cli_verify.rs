//! `saoy verify` exit codes and JSON contract on files that are not PASSED.

use std::process::{Command, Output};

fn pki(f: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("certs-test")
        .join(f)
}

const UNSIGNED: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R/Size 4>>\n%%EOF\n";

/// Writes `pdf` to a temp file and runs `saoy verify` on it, trusting the test root.
fn verify(pdf: &[u8], extra: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.pdf");
    std::fs::write(&path, pdf).unwrap();
    Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(pki("root.pem"))
        .args(extra)
        .output()
        .unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}

#[test]
fn unsigned_pdf_is_not_passed_and_exits_one() {
    let out = verify(UNSIGNED, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_ne!(report["status"], "PASSED");
    assert!(report["signatures"].as_array().unwrap().is_empty());
}

#[test]
fn garbage_is_a_report_not_a_crash() {
    let out = verify(b"\x00\xffnot a pdf at all", &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(json(&out)["status"], "FAILED");
}

#[test]
fn usage_errors_exit_two_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .args(["verify", "/nonexistent/file.pdf", "--trust"])
        .arg(pki("root.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file.pdf"));

    let out = verify(UNSIGNED, &["--at", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at"));
}

#[test]
fn a_closed_output_pipe_is_no_crash_and_keeps_the_exit_code() {
    // A PASSED copy, its text report read by nobody (`saoy verify … | head -0`).
    let copy =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mutation/saoy-copy.pdf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(&copy)
        .arg("--trust")
        .arg(pki("root.pem"))
        .arg("--at")
        .arg("2027-01-01T00:00:00Z")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader went away before the report was written
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}
