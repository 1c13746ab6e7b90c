//! Certification paths made by test code (tests/support/chaingen.rs), PDFs signed by pyHanko:
//! each flaw RFC 5280 path validation must catch is not PASSED, and the X.509 validation
//! block names the certificate and the RFC 5280 step that refused it; the sound chain is
//! PASSED, also when offered a badly signed CRL that would revoke it (ignored, and said so).

use crate::support::chaingen::{self, Chain, Flaw};
use crate::support::{pdfgen, pyhanko};
use saoy::verify::{Report, ValidationPolicy, verify_pdf};

fn signed(flaw: Flaw) -> (tempfile::TempDir, Chain, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let chain = chaingen::make(dir.path(), flaw);
    let chain_refs: Vec<&std::path::Path> = chain.chain.iter().map(|p| p.as_path()).collect();
    let pdf = pyhanko::sign_with(
        &pdfgen::base_pdf(),
        &chain.key,
        &chain.cert,
        &chain_refs,
        &["--field", "Signature1"],
    );
    (dir, chain, pdf)
}

fn verify(chain: &Chain, pdf: &[u8], crls: Vec<Vec<u8>>) -> Report {
    verify_pdf(
        pdf,
        &ValidationPolicy::new(vec![chain.root.clone()], crls, None),
    )
}

/// Every failed check's detail, one per line.
fn failures(r: &Report) -> String {
    r.signatures
        .iter()
        .flat_map(|s| s.checks.iter())
        .filter(|c| !c.passed)
        .map(|c| format!("{:?}: {}", c.name, c.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every check's detail, one per line.
fn details(r: &Report) -> String {
    r.signatures
        .iter()
        .flat_map(|s| s.checks.iter())
        .map(|c| format!("{:?}: {}", c.name, c.detail))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn each_flaw_of_the_path_is_not_passed_and_named() {
    let cases = [
        (Flaw::BadCaSignature, "6.1.3 (a)(1)", "Issuing CA"),
        (Flaw::ExpiredCa, "expired", "Issuing CA"),
        (Flaw::NotYetValidCa, "not valid before", "Issuing CA"),
        (Flaw::NoBasicConstraints, "6.1.4 (k)", "Issuing CA"),
        (Flaw::CaFalse, "6.1.4 (k)", "Issuing CA"),
        (Flaw::PathLenExceeded, "6.1.4 (l)", "Sub CA"),
        (Flaw::NoKeyCertSign, "6.1.4 (n)", "Issuing CA"),
        (Flaw::NameConstraintsViolated, "6.1.3 (b)-(c)", "O=Other"),
        (Flaw::PolicyRequiredAbsent, "6.1.3 (d)-(f)", "Signer"),
        (Flaw::UnknownCriticalExtension, "6.1.4 (o)", "Issuing CA"),
    ];
    for (flaw, step, who) in cases {
        let (_dir, chain, pdf) = signed(flaw);
        let r = verify(&chain, &pdf, vec![]);
        let why = failures(&r);
        assert!(!r.is_passed(), "{flaw:?} was PASSED");
        assert!(
            why.contains(step) && why.contains(who),
            "{flaw:?}: the report should name {who:?} and {step:?}:\n{why}"
        );
    }
}

#[test]
fn a_revoked_intermediate_is_not_passed() {
    let (_dir, chain, pdf) = signed(Flaw::Sound);
    let r = verify(&chain, &pdf, vec![chain.root_crl_revoking_ca()]);
    assert!(!r.is_passed(), "revoked CA PASSED");
    assert!(
        failures(&r).contains("Issuing CA (TEST chain) revoked"),
        "{}",
        failures(&r)
    );
}

#[test]
fn sound_chains_pass_and_a_badly_signed_crl_is_ignored() {
    let (_dir, chain, pdf) = signed(Flaw::Sound);
    let r = verify(&chain, &pdf, vec![]);
    assert!(r.is_passed(), "sound chain not PASSED:\n{}", failures(&r));
    let r = verify(&chain, &pdf, vec![chain.badly_signed_crl_revoking_signer()]);
    assert!(r.is_passed(), "a bad CRL decided:\n{}", failures(&r));
    let notes = details(&r);
    assert!(
        notes.contains("ignored: bad signature"),
        "the report should say the CRL was ignored:\n{notes}"
    );
    let (_dir, chain, pdf) = signed(Flaw::NameConstraintsKept);
    let r = verify(&chain, &pdf, vec![]);
    assert!(
        r.is_passed(),
        "signer inside the permitted subtree:\n{}",
        failures(&r)
    );
}

/// pyHanko's verdict on a PDF signed over `flaw`, trusting that chain's root.
fn pyhanko_rejects(flaw: Flaw) -> bool {
    let (dir, chain, pdf) = signed(flaw);
    let root = dir.path().join("root.pem");
    std::fs::write(
        &root,
        pem::encode(&pem::Pem::new("CERTIFICATE", chain.root.clone())),
    )
    .expect("root");
    pyhanko::validate_with(&pdf, &[root.as_path()], &[]).rejects()
}

#[test]
fn pyhanko_judges_the_name_constraints_case_as_saoy_does() {
    assert!(
        !pyhanko_rejects(Flaw::Sound),
        "pyHanko refused the sound control"
    );
    assert!(
        pyhanko_rejects(Flaw::NameConstraintsViolated),
        "pyHanko accepted it"
    );
    let (_dir, chain, pdf) = signed(Flaw::NameConstraintsViolated);
    assert!(!verify(&chain, &pdf, vec![]).is_passed());
}
