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

fn saoy_copy() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mutation/saoy-copy.pdf")
}

#[test]
fn without_trust_every_signature_is_reported_and_nothing_is_trusted() {
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(saoy_copy())
        .args(["--at", "2027-01-01T00:00:00Z", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    assert_eq!(report["status"], "INDETERMINATE", "{report}");
    assert_eq!(
        report["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND",
        "{report}"
    );
    let sigs = report["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 2, "{report}");
    for s in sigs {
        assert!(
            s["signer"]["subject"].as_str().unwrap().contains("CN="),
            "{s}"
        );
        assert_eq!(s["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND", "{s}");
        let intact =
            s["checks"].as_array().unwrap().iter().any(|c| {
                c["passed"] == true && c["name"].as_str().unwrap_or("").contains("digest")
            });
        assert!(intact, "the digest check passed: {s}");
    }
    let messages = report["messages"].to_string();
    assert!(messages.contains("nothing was trusted"), "{messages}");

    let text = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(saoy_copy())
        .output()
        .unwrap();
    assert_eq!(text.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&text.stdout).contains("nothing was trusted"));
}

#[test]
fn a_reader_that_stops_after_a_line_ends_no_command_with_a_panic() {
    use std::io::BufRead;
    for format in ["text", "json", "etsi-xml"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_saoy"))
            .arg("verify")
            .arg(saoy_copy())
            .arg("--trust")
            .arg(pki("root.pem"))
            .args(["--at", "2027-01-01T00:00:00Z", "--format", format])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: one line read, then the pipe is closed.
        let mut first = String::new();
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let _ = reader.read_line(&mut first);
        drop(reader);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{format}: {stderr}");
    }
}
