//! The verifier against PDFs signed by pyHanko (an independent PAdES implementation) with the
//! test PKI in certs-test/. pyHanko must be installed: a missing pyHanko fails, never skips.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::pkigen::{self, Kind};
use crate::support::{assert_sub, check_mentions, show};
use saoy::verify::{Indication, Report, SubIndication, ValidationPolicy, verify_pdf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn certs() -> PathBuf {
    let d = crate_dir().join("certs-test");
    assert!(
        d.join("root.pem").exists(),
        "certs-test/ is missing: run `cargo run -- pki init --out certs-test`"
    );
    d
}

fn require_pyhanko() {
    let out = Command::new("python3")
        .args(["-c", "import pyhanko"])
        .output()
        .expect("python3 must be installed for the pyHanko peer tests");
    assert!(
        out.status.success(),
        "pyHanko is required for these tests (pip install pyhanko): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A one-page PDF with a classic xref table.
fn minimal_pdf() -> Vec<u8> {
    let content = b"BT /F1 24 Tf 20 100 Td (Hello saoy) Tj ET";
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content);
    stream.extend_from_slice(b"\nendstream");
    let objs: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_vec(),
        stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objs.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objs.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objs.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Signs `input` with pyHanko as `who` (a certs-test leaf name).
fn sign(input: &[u8], who: &str, extra: &[&str]) -> Vec<u8> {
    require_pyhanko();
    let c = certs();
    let dir = tempfile::tempdir().expect("tempdir");
    let inp = dir.path().join("in.pdf");
    let outp = dir.path().join("out.pdf");
    std::fs::write(&inp, input).expect("write input");
    let chain = if who == "other-signer" {
        "other-root.pem"
    } else {
        "issuing-ca.pem"
    };
    let status = Command::new("python3")
        .arg(crate_dir().join("tests/peers/pyhanko_sign.py"))
        .arg(&inp)
        .arg(&outp)
        .arg(c.join(format!("{who}.key.pem")))
        .arg(c.join(format!("{who}.pem")))
        .arg(c.join(chain))
        .args(extra)
        .output()
        .expect("run pyhanko_sign.py");
    assert!(
        status.status.success(),
        "pyHanko signing failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    std::fs::read(&outp).expect("read signed output")
}

fn read_der(p: &Path) -> Vec<u8> {
    let text = std::fs::read(p).expect("read certificate");
    pem::parse(&text).map(|p| p.into_contents()).unwrap_or(text)
}

fn policy(with_crl: bool) -> ValidationPolicy {
    let c = certs();
    ValidationPolicy::new(
        vec![read_der(&c.join("root.pem"))],
        if with_crl {
            vec![std::fs::read(c.join("issuing-ca.crl")).expect("crl")]
        } else {
            vec![]
        },
        None,
    )
}

#[test]
fn valid_signature_passes() {
    let pdf = sign(&minimal_pdf(), "agency", &["--field", "AgencySig"]);
    let r = verify_pdf(&pdf, &policy(true));
    assert!(r.is_passed(), "{}", show(&r));
    let s = &r.signatures[0];
    assert_eq!(s.field, "AgencySig");
    assert!(s.covers_whole_document && !s.modified_after_signing);
    assert_eq!(s.level.as_deref(), Some("B-B"));
    assert!(
        s.signer
            .as_ref()
            .is_some_and(|x| x.subject.contains("agency") || !x.subject.is_empty())
    );
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    assert_eq!(json["status"], "PASSED");
    assert!(json["sub_indication"].is_null());
}

#[test]
fn ecdsa_and_sha512_pkcs7_pass() {
    let pdf = sign(&minimal_pdf(), "certifier", &["--md", "sha384"]);
    let r = verify_pdf(&pdf, &policy(true));
    assert!(r.is_passed(), "{}", show(&r));
    let pdf = sign(
        &minimal_pdf(),
        "agency",
        &["--md", "sha512", "--subfilter", "pkcs7"],
    );
    let r = verify_pdf(&pdf, &policy(true));
    assert!(r.is_passed(), "{}", show(&r));
}

#[test]
fn flipped_byte_in_signed_range_is_hash_failure() {
    let mut pdf = sign(&minimal_pdf(), "agency", &[]);
    let pos = pdf
        .windows(10)
        .position(|w| w == b"Hello saoy")
        .expect("content present");
    pdf[pos] = b'J';
    let r = verify_pdf(&pdf, &policy(true));
    assert_eq!(r.status, Indication::Failed, "{}", show(&r));
    assert_sub(&r, SubIndication::HashFailure);
}

#[test]
fn damaged_signature_value_is_sig_crypto_failure() {
    let mut pdf = sign(&minimal_pdf(), "agency", &[]);
    // The hex of /Contents: the DER ends with the signature value (no unsigned attributes).
    let lt = pdf
        .windows(11)
        .position(|w| w == b"/Contents <")
        .expect("signature /Contents")
        + 11;
    let hex_len = pdf[lt..].iter().position(|b| *b == b'>').expect(">");
    let der = hex::decode(&pdf[lt..lt + hex_len]).expect("hex");
    // Outer length: 30 82 HH LL
    assert_eq!(der[0], 0x30);
    let total = 4 + ((der[2] as usize) << 8 | der[3] as usize);
    let target = lt + 2 * (total - 20);
    pdf[target] = if pdf[target] == b'0' { b'1' } else { b'0' };
    let r = verify_pdf(&pdf, &policy(true));
    assert_eq!(r.status, Indication::Failed, "{}", show(&r));
    assert_sub(&r, SubIndication::SigCryptoFailure);
}

#[test]
fn untrusted_root_has_no_chain() {
    let pdf = sign(&minimal_pdf(), "other-signer", &[]);
    let r = verify_pdf(&pdf, &policy(true));
    assert!(!r.is_passed());
    assert_sub(&r, SubIndication::NoCertificateChainFound);
}

#[test]
fn expired_signer_is_out_of_bounds() {
    let pdf = sign(&minimal_pdf(), "expired", &[]);
    let r = verify_pdf(&pdf, &policy(true));
    assert!(!r.is_passed(), "{}", show(&r));
    assert!(
        matches!(
            r.sub_indication,
            Some(
                SubIndication::OutOfBoundsNoPoe
                    | SubIndication::OutOfBoundsNotRevoked
                    | SubIndication::Expired
            )
        ),
        "{}",
        show(&r)
    );
}

#[test]
fn revoked_signer_is_revoked() {
    let pdf = sign(&minimal_pdf(), "revoked", &[]);
    let r = verify_pdf(&pdf, &policy(true));
    assert_eq!(r.status, Indication::Failed, "{}", show(&r));
    assert_sub(&r, SubIndication::Revoked);
}

/// Appends an incremental update that replaces object 4 (the page content).
fn change_content_incrementally(pdf: &[u8]) -> Vec<u8> {
    let tail = &pdf[pdf.len().saturating_sub(64)..];
    let s = String::from_utf8_lossy(tail);
    let prev: usize = s
        .rsplit("startxref")
        .next()
        .and_then(|x| x.split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .expect("startxref");
    let mut out = pdf.to_vec();
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let off = out.len();
    let content = b"BT /F1 24 Tf 20 100 Td (Forged text) Tj ET";
    out.extend_from_slice(format!("4 0 obj\n<< /Length {} >>\nstream\n", content.len()).as_bytes());
    out.extend_from_slice(content);
    out.extend_from_slice(b"\nendstream\nendobj\n");
    // Size: the largest object number in the file + 1 is enough for a classic table update.
    let size = 100;
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 1\n0000000000 65535 f \n4 1\n{off:010} 00000 n \n").as_bytes(),
    );
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n")
            .as_bytes(),
    );
    out
}

#[test]
fn content_changed_after_signing_is_detected() {
    let signed = sign(&minimal_pdf(), "agency", &[]);
    let pdf = change_content_incrementally(&signed);
    let r = verify_pdf(&pdf, &policy(true));
    assert!(!r.is_passed(), "{}", show(&r));
    let s = &r.signatures[0];
    assert!(s.modified_after_signing, "{}", show(&r));
    assert!(!s.covers_whole_document);
}

#[test]
fn two_signatures_both_pass() {
    let once = sign(&minimal_pdf(), "agency", &["--field", "Agency"]);
    let twice = sign(&once, "certifier", &["--field", "Certifier"]);
    let r = verify_pdf(&twice, &policy(true));
    assert!(r.is_passed(), "{}", show(&r));
    assert_eq!(r.signatures.len(), 2);
    assert_eq!(r.signatures[0].field, "Agency");
    assert!(!r.signatures[0].covers_whole_document && !r.signatures[0].modified_after_signing);
    assert!(r.signatures[1].covers_whole_document);
}

#[test]
fn unsigned_pdf_is_not_passed() {
    let r = verify_pdf(&minimal_pdf(), &policy(true));
    assert!(!r.is_passed());
    assert_eq!(r.sub_indication, Some(SubIndication::SignedDataNotFound));
}

fn passes(pdf: &[u8], what: &str) -> Report {
    let r = verify_pdf(pdf, &policy(true));
    assert!(r.is_passed(), "{what}: {}", show(&r));
    r
}

#[test]
fn rsa_pkcs1_and_pss_with_every_sha2_pass() {
    for md in ["sha256", "sha384", "sha512"] {
        for sub in ["pades", "pkcs7"] {
            let pdf = sign(&minimal_pdf(), "agency", &["--md", md, "--subfilter", sub]);
            passes(&pdf, &format!("RSA PKCS#1 v1.5 {md} {sub}"));
            let pdf = sign(
                &minimal_pdf(),
                "agency",
                &["--md", md, "--subfilter", sub, "--pss"],
            );
            let r = passes(&pdf, &format!("RSA-PSS {md} {sub}"));
            assert!(
                check_mentions(&r, 0, "signature_value", "1.2.840.113549.1.1.10"),
                "PSS expected: {}",
                show(&r)
            );
        }
    }
}

#[test]
fn ecdsa_p256_and_p384_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p384 = pkigen::issue(dir.path(), Kind::SignerP384);
    let ca = certs().join("issuing-ca.pem");
    for md in ["sha256", "sha384"] {
        let pdf = sign(&minimal_pdf(), "certifier", &["--md", md]);
        passes(&pdf, &format!("ECDSA P-256 {md}"));
        let pdf = crate::support::pyhanko::sign_with(
            &minimal_pdf(),
            &p384.key,
            &p384.cert,
            &[&ca],
            &["--md", md],
        );
        passes(&pdf, &format!("ECDSA P-384 {md}"));
    }
    // ECDSA with SHA-512: ring verifies ECDSA only with SHA-256/384; the p256/p384 crates
    // verify the other hashes (see also tests/verify_ocsp.rs).
    let pdf = sign(&minimal_pdf(), "certifier", &["--md", "sha512"]);
    passes(&pdf, "ECDSA P-256 sha512");
    let pdf = crate::support::pyhanko::sign_with(
        &minimal_pdf(),
        &p384.key,
        &p384.cert,
        &[&ca],
        &["--md", "sha512"],
    );
    passes(&pdf, "ECDSA P-384 sha512");
}

#[test]
fn certification_signature_passes_with_its_permission() {
    for p in ["1", "2", "3"] {
        let pdf = sign(&minimal_pdf(), "agency", &["--certify", p]);
        let r = passes(&pdf, &format!("certification P={p}"));
        assert_eq!(
            r.signatures[0]
                .docmdp_permission
                .map(|x| x.to_string())
                .as_deref(),
            Some(p)
        );
    }
}

#[test]
fn three_signatures_from_three_keys_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p384 = pkigen::issue(dir.path(), Kind::SignerP384);
    let ca = certs().join("issuing-ca.pem");
    let one = sign(
        &minimal_pdf(),
        "agency",
        &["--field", "A", "--certify", "2"],
    );
    let two = sign(&one, "certifier", &["--field", "B", "--subfilter", "pkcs7"]);
    let three = crate::support::pyhanko::sign_with(
        &two,
        &p384.key,
        &p384.cert,
        &[&ca],
        &["--field", "C", "--md", "sha384"],
    );
    let r = passes(&three, "three signatures");
    assert_eq!(r.signatures.len(), 3);
    let fields: Vec<&str> = r.signatures.iter().map(|s| s.field.as_str()).collect();
    assert_eq!(fields, ["A", "B", "C"]);
}

fn tsa_args(tsa: &pkigen::Issued) -> Vec<&str> {
    vec![
        "--tsa-key",
        tsa.key.to_str().expect("utf-8 path"),
        "--tsa-cert",
        tsa.cert.to_str().expect("utf-8 path"),
    ]
}

#[test]
fn signature_timestamp_and_document_timestamp_pass() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tsa = pkigen::issue(dir.path(), Kind::Tsa);
    let pdf = sign(&minimal_pdf(), "agency", &tsa_args(&tsa));
    let r = passes(&pdf, "signature time-stamp");
    let s = &r.signatures[0];
    assert!(s.timestamp.is_some(), "{}", show(&r));
    assert_eq!(s.level.as_deref(), Some("B-T"));
    assert!(
        s.checks.iter().any(|c| c.name == "signature_timestamp"
            && c.passed
            && c.detail.contains("authority trusted")),
        "{}",
        show(&r)
    );
    let mut args = tsa_args(&tsa);
    args.push("--doc-timestamp");
    let pdf = sign(&minimal_pdf(), "certifier", &args);
    let r = passes(&pdf, "signature + document time-stamp");
    assert_eq!(r.signatures.len(), 2, "{}", show(&r));
    assert!(r.signatures[1].timestamp.is_some());
}
