//! pyHanko as a peer: signing with tests/peers/pyhanko_sign.py and validating with
//! tests/peers/pyhanko_validate.py. A missing pyHanko fails, never skips.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use super::{crate_dir, pki};

/// Signs `input` with pyHanko as `who` (a certs-test leaf name), with extra script options.
pub fn sign(input: &[u8], who: &str, extra: &[&str]) -> Vec<u8> {
    let chain = if who == "other-signer" {
        "other-root.pem"
    } else {
        "issuing-ca.pem"
    };
    sign_with(
        input,
        &pki(&format!("{who}.key.pem")),
        &pki(&format!("{who}.pem")),
        &[&pki(chain)],
        extra,
    )
}

/// Signs `input` with an explicit key, certificate and chain.
pub fn sign_with(
    input: &[u8],
    key: &Path,
    cert: &Path,
    chain: &[&Path],
    extra: &[&str],
) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let inp = dir.path().join("in.pdf");
    let outp = dir.path().join("out.pdf");
    std::fs::write(&inp, input).expect("write input");
    let out = Command::new("python3")
        .arg(crate_dir().join("tests/peers/pyhanko_sign.py"))
        .arg(&inp)
        .arg(&outp)
        .arg(key)
        .arg(cert)
        .args(chain)
        .args(extra)
        .output()
        .expect("python3 must be installed for the pyHanko peer tests");
    assert!(
        out.status.success(),
        "pyHanko signing failed (pyHanko is required: scripts/test installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(&outp).expect("read signed output")
}

/// pyHanko's verdict on one signature.
#[derive(Debug, Clone, Deserialize)]
pub struct Verdict {
    /// Field name.
    pub field: Option<String>,
    /// Digest matches.
    #[serde(default)]
    pub intact: bool,
    /// Signature value checks.
    #[serde(default)]
    pub valid: bool,
    /// Chain to the given roots.
    #[serde(default)]
    pub trusted: bool,
    /// pyHanko's overall judgement.
    #[serde(default)]
    pub bottom_line: bool,
    /// ENTIRE_FILE / ENTIRE_REVISION / ...
    pub coverage: Option<String>,
    /// NONE / LTA_UPDATES / FORM_FILLING / ANNOTATIONS / OTHER.
    pub modification_level: Option<String>,
    /// pyHanko's exception, if validation itself failed.
    pub error: Option<String>,
    /// pyHanko's summary line.
    #[serde(default)]
    pub summary: String,
    /// The signer certificate's subject, as pyHanko names it.
    #[serde(default)]
    pub signer: Option<String>,
    /// The signature time-stamp's time, when pyHanko found one.
    #[serde(default)]
    pub timestamp_time: Option<String>,
    /// pyHanko trusts the signature time-stamp's TSA.
    #[serde(default)]
    pub timestamp_trusted: Option<bool>,
}

impl Verdict {
    /// pyHanko's "not acceptable" class: bottom line false, an error, or a revision that
    /// does not cover the file with changes beyond form filling.
    pub fn rejects(&self) -> bool {
        let beyond_forms = matches!(
            self.modification_level.as_deref(),
            Some("ANNOTATIONS" | "OTHER")
        );
        !self.bottom_line
            || self.error.is_some()
            || (self.coverage.as_deref() != Some("ENTIRE_FILE") && beyond_forms)
    }
}

/// pyHanko's result on a whole file: its verdicts, or the error the script died with.
#[derive(Debug, Clone)]
pub enum PeerResult {
    /// One verdict per embedded signature pyHanko found.
    Verdicts(Vec<Verdict>),
    /// The script could not read the file at all.
    Crashed(String),
}

impl PeerResult {
    /// True when pyHanko would not accept the file (no signature counts as not accepted).
    pub fn rejects(&self) -> bool {
        match self {
            PeerResult::Verdicts(v) => v.is_empty() || v.iter().any(Verdict::rejects),
            PeerResult::Crashed(_) => true,
        }
    }
}

/// Runs pyHanko's validator on `pdf` with certs-test's root and issuing-CA CRL.
pub fn validate(pdf: &[u8]) -> PeerResult {
    validate_with(pdf, &[&pki("root.pem")], &[&pki("issuing-ca.crl")])
}

/// Runs pyHanko's validator on `pdf` trusting `roots`, with `crls`.
pub fn validate_with(pdf: &[u8], roots: &[&Path], crls: &[&Path]) -> PeerResult {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("in.pdf");
    std::fs::write(&p, pdf).expect("write pdf");
    let mut cmd = Command::new("python3");
    cmd.arg(crate_dir().join("tests/peers/pyhanko_validate.py"))
        .arg(&p);
    for r in roots {
        cmd.arg("--trust").arg(r);
    }
    for c in crls {
        cmd.arg("--crl").arg(c);
    }
    let out = cmd.output().expect("python3 must be installed");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'pyhanko"),
        "pyHanko is required (scripts/test installs it): {stderr}"
    );
    if !out.status.success() {
        let last = stderr.lines().last().unwrap_or_default().to_string();
        return PeerResult::Crashed(last);
    }
    match serde_json::from_slice(&out.stdout) {
        Ok(v) => PeerResult::Verdicts(v),
        Err(e) => PeerResult::Crashed(format!("unreadable output: {e}")),
    }
}
