//! Test support for the verifier: a base PDF prepared for the attacks, pyHanko signing and
//! validation as a peer, incremental updates written by hand, and the attack fixtures.
#![allow(dead_code)]

pub mod attacks;
pub mod pdfgen;
pub mod pkigen;
pub mod pyhanko;

use std::path::PathBuf;

/// The crate root.
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file of the test PKI (certs-test/), which must exist.
pub fn pki(file: &str) -> PathBuf {
    let p = crate_dir().join("certs-test").join(file);
    assert!(
        p.exists(),
        "{} is missing: run `cargo run -- pki init --out certs-test`",
        p.display()
    );
    p
}

/// DER of the first certificate in a PEM (or DER) file.
pub fn read_der(p: &std::path::Path) -> Vec<u8> {
    let text = std::fs::read(p).expect("read certificate");
    pem::parse(&text).map(|p| p.into_contents()).unwrap_or(text)
}

/// The usual policy: trust certs-test/root.pem, with the issuing CA's CRL.
pub fn policy() -> saoy::verify::ValidationPolicy {
    saoy::verify::ValidationPolicy::new(
        vec![read_der(&pki("root.pem"))],
        vec![std::fs::read(pki("issuing-ca.crl")).expect("crl")],
        None,
    )
}

/// Where fixtures are written for inspection and as fuzz seeds.
pub fn fixture_dir() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("verify-fixtures");
    std::fs::create_dir_all(&d).expect("fixture dir");
    d
}

/// The report as text, for assertion messages.
pub fn show(r: &saoy::verify::Report) -> String {
    r.render_text()
}

/// True when signature `index` of `r` has a passed check `name` whose detail mentions `needle`.
pub fn check_mentions(r: &saoy::verify::Report, index: usize, name: &str, needle: &str) -> bool {
    r.signatures.get(index).is_some_and(|s| {
        s.checks
            .iter()
            .any(|c| c.name == name && c.passed && c.detail.contains(needle))
    })
}

/// Asserts the document's sub-indication, showing the whole report when it differs.
#[track_caller]
pub fn assert_sub(r: &saoy::verify::Report, expected: saoy::verify::SubIndication) {
    assert_eq!(r.sub_indication, Some(expected), "{}", show(r));
}
