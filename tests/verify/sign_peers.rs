//! saoy's PAdES signatures validate in real peers (pyHanko, poppler's pdfsig, qpdf), also
//! after a second signature in its own incremental update.

use std::sync::Arc;

use saoy::pki::key::{Credential, RingKey};
use saoy::sign::{SignRequest, sign_pdf};
use time::OffsetDateTime;

fn credential(name: &str) -> Credential {
    let key = RingKey::load(&crate::support::pki(&format!("{name}.key.pem"))).expect("key");
    let chain =
        saoy::pki::key::read_pem_certificates(&crate::support::pki(&format!("{name}-chain.pem")))
            .expect("chain");
    Credential::new(Arc::new(key), chain).expect("credential")
}

fn request<'a>(credential: &'a Credential, field: &str, rect: [f32; 4]) -> SignRequest<'a> {
    SignRequest {
        credential,
        field_name: field.into(),
        page_index: 0,
        rect,
        signing_time: OffsetDateTime::now_utc()
            .to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap()),
        signer_name: Some("Người ký thử nghiệm".into()),
        reason: Some("Chứng thực bản sao đúng với bản chính".into()),
        location: Some("Tây Ninh".into()),
    }
}

#[test]
fn two_signatures_validate_in_pyhanko_pdfsig_and_qpdf() {
    let agency = credential("agency");
    let certifier = credential("certifier");
    let once = sign_pdf(
        &crate::support::pdfgen::one_page_pdf("A plain page"),
        &request(&agency, "Agency", [400.0, 780.0, 580.0, 830.0]),
    )
    .expect("first signature");
    let twice = sign_pdf(&once, &request(&certifier, "Certifier", [0.0; 4])).expect("second");
    assert_eq!(
        &twice[..once.len()],
        &once[..],
        "the second update must not touch earlier bytes"
    );

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.pdf");
    std::fs::write(&path, &twice).unwrap();

    let root = crate::support::pki("root.pem");
    let verdicts = crate::support::peers::pyhanko_validate(&path, &[&root], &[]);
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    for v in &verdicts {
        assert!(v.error.is_none(), "pyHanko raised: {v:?}");
        assert!(v.intact && v.valid && v.trusted, "pyHanko: {}", v.summary);
    }
    let last = verdicts
        .iter()
        .find(|v| v.field.as_deref() == Some("Certifier"))
        .expect("certifier field");
    assert_eq!(last.coverage.as_deref(), Some("ENTIRE_FILE"));
    let first = verdicts
        .iter()
        .find(|v| v.field.as_deref() == Some("Agency"))
        .expect("agency field");
    assert!(
        matches!(
            first.modification_level.as_deref(),
            Some("NONE" | "LTA_UPDATES" | "FORM_FILLING")
        ),
        "the second signature must count as an allowed change: {first:?}"
    );

    let pdfsig = crate::support::peers::pdfsig(&path, &root);
    assert_eq!(
        pdfsig.matches("Signature is Valid").count(),
        2,
        "pdfsig output:\n{pdfsig}"
    );
    assert_eq!(
        pdfsig.matches("Certificate is Trusted").count(),
        2,
        "{pdfsig}"
    );

    let (ok, out) = crate::support::peers::qpdf_check(&path);
    assert!(ok && !out.contains("WARNING"), "qpdf --check: {out}");
}

#[test]
fn tampered_signed_file_fails_in_pyhanko_and_pdfsig() {
    let agency = credential("agency");
    let mut signed = sign_pdf(
        &crate::support::pdfgen::one_page_pdf("A plain page"),
        &request(&agency, "Agency", [0.0; 4]),
    )
    .unwrap();
    // Flip a byte of the page content ("A plain page" → "B plain page").
    let at = signed.windows(7).position(|w| w == b"(A plai").unwrap() + 1;
    signed[at] = b'B';
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tampered.pdf");
    std::fs::write(&path, &signed).unwrap();
    let root = crate::support::pki("root.pem");
    let verdicts = crate::support::peers::pyhanko_validate(&path, &[&root], &[]);
    assert_eq!(verdicts.len(), 1);
    assert!(
        !verdicts[0].intact,
        "pyHanko must see the tampering: {verdicts:?}"
    );
    let pdfsig = crate::support::peers::pdfsig(&path, &root);
    assert!(!pdfsig.contains("Signature is Valid"), "{pdfsig}");
}
