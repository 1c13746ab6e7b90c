//! `saoy verify` exit codes and JSON contract on files that are not PASSED.

use std::process::Command;

fn saoy() -> Command {
    Command::new(env!("CARGO_BIN_EXE_saoy"))
}

fn pki(f: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-test").join(f)
}

const UNSIGNED: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R/Size 4>>\n%%EOF\n";

#[test]
fn unsigned_pdf_is_not_passed_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsigned.pdf");
    std::fs::write(&path, UNSIGNED).unwrap();
    let out = saoy()
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(pki("root.pem"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_ne!(json["status"], "PASSED");
    assert!(json["signatures"].as_array().unwrap().is_empty());
}

#[test]
fn garbage_is_a_report_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.pdf");
    std::fs::write(&path, b"\x00\xffnot a pdf at all").unwrap();
    let out = saoy()
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(pki("root.pem"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "FAILED");
}

#[test]
fn usage_errors_exit_two_with_a_message() {
    let out = saoy()
        .args(["verify", "/nonexistent/file.pdf", "--trust"])
        .arg(pki("root.pem"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file.pdf"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unsigned.pdf");
    std::fs::write(&path, UNSIGNED).unwrap();
    let out = saoy()
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(pki("root.pem"))
        .args(["--at", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--at"));
}
