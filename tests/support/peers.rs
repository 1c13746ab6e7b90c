//! Real peer validators run as subprocesses. A missing tool fails the test with a message
//! (scripts/test installs them); nothing skips silently.

use std::path::Path;
use std::process::Command;

/// Runs pyHanko's validator on `pdf`, trusting `roots` and using `crls`.
pub fn pyhanko_validate(
    pdf: &Path,
    roots: &[&Path],
    crls: &[&Path],
) -> Vec<super::pyhanko::Verdict> {
    let script = super::root().join("tests/peers/pyhanko_validate.py");
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(pdf);
    for r in roots {
        cmd.arg("--trust").arg(r);
    }
    for c in crls {
        cmd.arg("--crl").arg(c);
    }
    let out = cmd
        .output()
        .expect("python3 must be installed (scripts/test installs pyHanko)");
    assert!(
        out.status.success(),
        "pyHanko validation script failed (is pyHanko installed? run scripts/test): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("pyHanko script prints JSON")
}

/// Makes an NSS database in `dir` that trusts `root_pem` (for pdfsig); returns its `sql:` name.
pub fn nss_db(dir: &Path, root_pem: &Path) -> String {
    let db = format!("sql:{}", dir.display());
    let status = Command::new("certutil")
        .args(["-N", "-d", &db, "--empty-password"])
        .status()
        .expect("certutil (libnss3-tools) must be installed; run scripts/test");
    assert!(status.success(), "certutil -N failed");
    let status = Command::new("certutil")
        .args([
            "-A",
            "-d",
            &db,
            "-n",
            "saoy-test-root",
            "-t",
            "CT,C,C",
            "-i",
        ])
        .arg(root_pem)
        .status()
        .expect("certutil");
    assert!(status.success(), "certutil -A failed");
    db
}

/// Runs poppler's pdfsig on `pdf` with the NSS database `db` (see [`nss_db`]).
pub fn pdfsig_in(db: &str, pdf: &Path) -> std::process::Output {
    Command::new("pdfsig")
        .args(["-nssdir", db])
        .arg(pdf)
        .output()
        .expect("pdfsig (poppler-utils) must be installed; run scripts/test")
}

/// Runs poppler's pdfsig with an NSS database that trusts `root_pem`; returns stdout.
pub fn pdfsig(pdf: &Path, root_pem: &Path) -> String {
    let nss = tempfile::tempdir().expect("temp dir");
    let db = nss_db(nss.path(), root_pem);
    String::from_utf8_lossy(&pdfsig_in(&db, pdf).stdout).into_owned()
}

/// Runs `qpdf --check`; returns (success, output).
pub fn qpdf_check(pdf: &Path) -> (bool, String) {
    let out = Command::new("qpdf")
        .arg("--check")
        .arg(pdf)
        .output()
        .expect("qpdf must be installed; run scripts/test");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Runs `pdftotext` on `pdf` and returns the text.
pub fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .arg("-enc")
        .arg("UTF-8")
        .arg(pdf)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) must be installed; run scripts/test");
    assert!(out.status.success(), "pdftotext failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
