//! Embedded OCSP responses as revocation evidence, and ECDSA with every SHA-2 hash, against
//! PDFs signed by pyHanko with the test PKI. The OCSP responses are made with Python's
//! `cryptography` (tests/peers/pyhanko_ocsp.py) and signed by the issuing CA's key or by a
//! delegated responder; pyHanko embeds them (/DSS, adbe-revocationInfoArchival), or the
//! script puts them into the CMS `crls` field. No CRL is given to saoy in these tests unless
//! said otherwise, so every revocation verdict comes from OCSP.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::pkigen::{self, Kind};
use crate::support::{assert_sub, check_mentions, crate_dir, pki, pyhanko, read_der, show};
use saoy::verify::{Indication, Report, SubIndication, ValidationPolicy, verify_pdf};

/// Trusts certs-test's root; no CRL.
fn policy_without_crls() -> ValidationPolicy {
    ValidationPolicy::new(vec![read_der(&pki("root.pem"))], vec![], None)
}

/// Runs tests/peers/pyhanko_ocsp.py with `args`; a failure (or a missing pyHanko) fails.
fn ocsp_tool(args: &[&str]) {
    let out = Command::new("python3")
        .arg(crate_dir().join("tests/peers/pyhanko_ocsp.py"))
        .args(args)
        .output()
        .expect("python3 must be installed for the pyHanko peer tests");
    assert!(
        out.status.success(),
        "pyhanko_ocsp.py {args:?} failed (pyHanko is required): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Writes an OCSP response about `who` (a certs-test leaf) to `dir/name`, signed by the
/// issuing CA unless `extra` names another responder.
fn make_ocsp(dir: &Path, name: &str, who: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let cert = pki(&format!("{who}.pem"));
    let issuer = pki("issuing-ca.pem");
    let key = pki("issuing-ca.key.pem");
    let mut args = vec!["make", s(&out), "--cert", s(&cert), "--issuer", s(&issuer)];
    if !extra.contains(&"--key") {
        args.extend(["--key", s(&key)]);
    }
    args.extend_from_slice(extra);
    ocsp_tool(&args);
    out
}

/// Runs `embed-dss` or `embed-cms` on `pdf` with the responses.
fn embed(how: &str, pdf: &[u8], responses: &[&Path]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let inp = dir.path().join("in.pdf");
    let outp = dir.path().join("out.pdf");
    std::fs::write(&inp, pdf).expect("write input");
    let mut args = vec![how, s(&inp), s(&outp)];
    for r in responses {
        args.extend(["--ocsp", s(r)]);
    }
    ocsp_tool(&args);
    std::fs::read(&outp).expect("read output")
}

/// A PDF signed by `who` with pyHanko (PAdES), with `responses` added to its /DSS.
fn signed_with_dss(who: &str, responses: &[&Path]) -> Vec<u8> {
    let signed = pyhanko::sign(&crate::support::pdfgen::base_pdf(), who, &[]);
    embed("embed-dss", &signed, responses)
}

fn revocation_checks(r: &Report) -> Vec<(bool, String)> {
    r.signatures
        .iter()
        .flat_map(|s| s.checks.iter())
        .filter(|c| c.name == "revocation")
        .map(|c| (c.passed, c.detail.clone()))
        .collect()
}

/// The signer's revocation check (the first one: the leaf is checked first).
fn signer_revocation(r: &Report) -> String {
    revocation_checks(r)
        .into_iter()
        .find(|(passed, _)| *passed)
        .map(|(_, d)| d)
        .unwrap_or_default()
}

#[test]
fn ecdsa_with_sha512_passes_on_p256_and_p384() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p384 = pkigen::issue(dir.path(), Kind::SignerP384);
    let ca = pki("issuing-ca.pem");
    let base = crate::support::pdfgen::base_pdf();
    for sub in ["pades", "pkcs7"] {
        let args = ["--md", "sha512", "--subfilter", sub];
        for (who, pdf) in [
            ("certifier P-256", pyhanko::sign(&base, "certifier", &args)),
            (
                "P-384",
                pyhanko::sign_with(&base, &p384.key, &p384.cert, &[&ca], &args),
            ),
        ] {
            let r = verify_pdf(&pdf, &crate::support::policy());
            assert!(r.is_passed(), "{who} SHA-512 {sub}: {}", show(&r));
            assert!(
                check_mentions(&r, 0, "signature_value", "1.2.840.10045.4.3.4"),
                "{who}: ecdsa-with-SHA512 expected: {}",
                show(&r)
            );
        }
    }
}

#[test]
fn good_ocsp_in_dss_passes_and_names_ocsp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = make_ocsp(dir.path(), "good.der", "agency", &[]);
    // Without the response nothing says whether the signer is revoked.
    let plain = pyhanko::sign(&crate::support::pdfgen::base_pdf(), "agency", &[]);
    let r = verify_pdf(&plain, &policy_without_crls());
    assert!(
        signer_revocation(&r).contains("not checked"),
        "{}",
        show(&r)
    );
    let pdf = embed("embed-dss", &plain, &[&good]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert!(r.is_passed(), "{}", show(&r));
    let detail = signer_revocation(&r);
    assert!(
        detail.contains("not revoked") && detail.contains("OCSP response"),
        "{}",
        show(&r)
    );
    assert!(
        r.signatures[0]
            .checks
            .iter()
            .any(|c| c.name == "validation_context" && c.detail.contains("1 OCSP response")),
        "{}",
        show(&r)
    );
    // pyHanko's own validator reads the same file (its revocation data included) as fine.
    let peer = pyhanko::validate_with(&pdf, &[&pki("root.pem")], &[]);
    assert!(!peer.rejects(), "pyHanko: {peer:?}");
}

#[test]
fn ocsp_revoked_before_signing_is_revoked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let revoked = make_ocsp(
        dir.path(),
        "revoked.der",
        "agency",
        &[
            "--status",
            "revoked",
            "--revoked-at",
            "-86400",
            "--reason",
            "key_compromise",
            "--this-update",
            "-3600",
        ],
    );
    let pdf = signed_with_dss("agency", &[&revoked]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert_eq!(r.status, Indication::Failed, "{}", show(&r));
    assert_sub(&r, SubIndication::Revoked);
    let s = &r.signatures[0];
    assert!(
        s.checks.iter().any(|c| c.name == "revocation"
            && c.sub_indication == Some(SubIndication::Revoked)
            && c.detail.contains("OCSP response")
            && c.detail.contains("keyCompromise")),
        "{}",
        show(&r)
    );
    // A good response beside it does not outweigh the revoked one.
    let good = make_ocsp(dir.path(), "good.der", "agency", &[]);
    let pdf = signed_with_dss("agency", &[&good, &revoked]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert_sub(&r, SubIndication::Revoked);
}

#[test]
fn ocsp_revoked_after_signing_needs_proof_of_existence() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Revoked an hour after now: after the claimed signing time (/M is the signing time).
    let later = make_ocsp(
        dir.path(),
        "later.der",
        "agency",
        &["--status", "revoked", "--revoked-at", "+3600"],
    );
    let pdf = signed_with_dss("agency", &[&later]);
    let at = std::time::SystemTime::now() + std::time::Duration::from_secs(7200);
    let policy = ValidationPolicy::new(vec![read_der(&pki("root.pem"))], vec![], Some(at));
    let r = verify_pdf(&pdf, &policy);
    assert_eq!(r.status, Indication::Indeterminate, "{}", show(&r));
    assert_sub(&r, SubIndication::RevokedNoPoe);
}

#[test]
fn ocsp_with_a_flipped_signature_byte_is_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let flipped = make_ocsp(dir.path(), "flipped.der", "agency", &["--flip-signature"]);
    let pdf = signed_with_dss("agency", &[&flipped]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    let detail = signer_revocation(&r);
    assert!(
        detail.contains("not checked") && !detail.contains("not revoked"),
        "the bad response must not vouch for the signer: {}",
        show(&r)
    );
    assert!(
        detail.contains("ignored") && detail.contains("does not verify"),
        "the report says why: {}",
        show(&r)
    );
    // A forged "revoked" answer is ignored too; a valid CRL still decides.
    let flipped_revoked = make_ocsp(
        dir.path(),
        "flipped-revoked.der",
        "agency",
        &[
            "--status",
            "revoked",
            "--revoked-at",
            "-86400",
            "--flip-signature",
        ],
    );
    let pdf = signed_with_dss("agency", &[&flipped_revoked]);
    let r = verify_pdf(&pdf, &crate::support::policy());
    assert!(r.is_passed(), "{}", show(&r));
    assert!(
        revocation_checks(&r)
            .iter()
            .any(|(passed, d)| !passed && d.contains("ignored") && d.contains("does not verify")),
        "{}",
        show(&r)
    );
    assert!(signer_revocation(&r).contains("CRL of"), "{}", show(&r));
    // The revoked signer with a flipped "good" answer stays revoked (its CRL lists it).
    let flipped_good = make_ocsp(
        dir.path(),
        "flipped-good.der",
        "revoked",
        &["--flip-signature"],
    );
    let pdf = signed_with_dss("revoked", &[&flipped_good]);
    let r = verify_pdf(&pdf, &crate::support::policy());
    assert_sub(&r, SubIndication::Revoked);
}

#[test]
fn ocsp_in_the_cms_and_in_the_adobe_attribute_is_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = make_ocsp(
        dir.path(),
        "good.der",
        "agency",
        &["--cert-id-hash", "sha256"],
    );
    let signed = pyhanko::sign(&crate::support::pdfgen::base_pdf(), "agency", &[]);
    let pdf = embed("embed-cms", &signed, &[&good]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert!(r.is_passed(), "CMS crls: {}", show(&r));
    assert!(
        signer_revocation(&r).contains("OCSP response"),
        "CMS crls: {}",
        show(&r)
    );
    let revoked = make_ocsp(
        dir.path(),
        "revoked.der",
        "agency",
        &["--status", "revoked", "--revoked-at", "-86400"],
    );
    let pdf = embed("embed-cms", &signed, &[&revoked]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert_eq!(
        r.sub_indication,
        Some(SubIndication::Revoked),
        "CMS crls: {}",
        show(&r)
    );

    // adbe.pkcs7.detached with embed_validation_info: adbe-revocationInfoArchival.
    let inp = dir.path().join("in.pdf");
    let outp = dir.path().join("adobe.pdf");
    std::fs::write(&inp, crate::support::pdfgen::base_pdf()).expect("write");
    let (key, cert, ca, root) = (
        pki("agency.key.pem"),
        pki("agency.pem"),
        pki("issuing-ca.pem"),
        pki("root.pem"),
    );
    ocsp_tool(&[
        "sign-adobe",
        s(&inp),
        s(&outp),
        s(&key),
        s(&cert),
        s(&ca),
        "--trust",
        s(&root),
        "--ocsp",
        s(&good),
    ]);
    let pdf = std::fs::read(&outp).expect("read");
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert!(r.is_passed(), "Adobe attribute: {}", show(&r));
    assert!(
        signer_revocation(&r).contains("OCSP response"),
        "Adobe attribute: {}",
        show(&r)
    );
}

#[test]
fn delegated_responders_need_the_ocsp_signing_eku() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (ca, ca_key) = (pki("issuing-ca.pem"), pki("issuing-ca.key.pem"));
    let (rkey, rcert) = (d.join("responder.key.pem"), d.join("responder.pem"));
    ocsp_tool(&[
        "delegate",
        s(&rkey),
        s(&rcert),
        "--issuer",
        s(&ca),
        "--issuer-key",
        s(&ca_key),
    ]);
    // A P-256 responder signing with SHA-512 (RustCrypto's path), named by key hash.
    let good = make_ocsp(
        d,
        "delegated.der",
        "agency",
        &[
            "--key",
            s(&rkey),
            "--responder-cert",
            s(&rcert),
            "--sig-hash",
            "sha512",
            "--by-key",
            "--include-cert",
        ],
    );
    let pdf = signed_with_dss("agency", &[&good]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert!(r.is_passed(), "{}", show(&r));
    let detail = signer_revocation(&r);
    assert!(
        detail.contains("OCSP response") && detail.contains("delegated by"),
        "{}",
        show(&r)
    );

    let (nkey, ncert) = (d.join("no-eku.key.pem"), d.join("no-eku.pem"));
    ocsp_tool(&[
        "delegate",
        s(&nkey),
        s(&ncert),
        "--issuer",
        s(&ca),
        "--issuer-key",
        s(&ca_key),
        "--no-eku",
    ]);
    let revoked = make_ocsp(
        d,
        "no-eku.der",
        "agency",
        &[
            "--key",
            s(&nkey),
            "--responder-cert",
            s(&ncert),
            "--include-cert",
            "--status",
            "revoked",
            "--revoked-at",
            "-86400",
        ],
    );
    let pdf = signed_with_dss("agency", &[&revoked]);
    let r = verify_pdf(&pdf, &policy_without_crls());
    assert!(
        r.is_passed(),
        "an unauthorised responder decides nothing: {}",
        show(&r)
    );
    assert!(
        signer_revocation(&r).contains("lacks id-kp-OCSPSigning"),
        "{}",
        show(&r)
    );
}

#[test]
fn unusable_ocsp_responses_are_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    // thisUpdate after the validation time, an "unknown" answer, and a response about
    // another certificate (ignored silently: it is not about the signer).
    let future = make_ocsp(d, "future.der", "agency", &["--this-update", "+86400"]);
    let unknown = make_ocsp(d, "unknown.der", "agency", &["--status", "unknown"]);
    let other = make_ocsp(d, "other.der", "certifier", &[]);
    for (what, resp, expect) in [
        ("future", &future, "after the validation time"),
        ("unknown", &unknown, "does not know"),
        ("other", &other, "no CRL or OCSP response"),
    ] {
        let pdf = signed_with_dss("agency", &[resp]);
        let r = verify_pdf(&pdf, &policy_without_crls());
        let detail = signer_revocation(&r);
        assert!(
            detail.contains("not checked") && detail.contains(expect),
            "{what}: {}",
            show(&r)
        );
    }
}
