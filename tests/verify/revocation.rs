//! Revocation judged on proof of existence, and trust anchors from a reloadable directory.

use std::time::Duration;

use crate::support::pkigen::{self, Kind};
use crate::support::{pki, pyhanko, read_der};
use rcgen::{
    CertificateRevocationListParams, Issuer, KeyIdMethod, KeyPair, RevocationReason,
    RevokedCertParams, SerialNumber,
};
use saoy::pki::trust::TrustStore;
use saoy::verify::{Indication, SubIndication, ValidationPolicy, verify_pdf};

/// A CRL of the issuing CA revoking the agency's certificate at `when`.
fn crl_revoking_agency(when: time::OffsetDateTime) -> Vec<u8> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let agency = read_der(&pki("agency.pem"));
    let (_, cert) = X509Certificate::from_der(&agency).expect("agency cert");
    let serial = cert.raw_serial().to_vec();
    let key = KeyPair::from_pem(&std::fs::read_to_string(pki("issuing-ca.key.pem")).expect("key"))
        .expect("CA key");
    let ca_pem = std::fs::read_to_string(pki("issuing-ca.pem")).expect("CA");
    let ca = Issuer::from_ca_cert_pem(&ca_pem, &key).expect("issuer");
    let now = time::OffsetDateTime::now_utc();
    CertificateRevocationListParams {
        this_update: now,
        next_update: now + time::Duration::days(7),
        crl_number: SerialNumber::from_slice(&[7]),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from_slice(&serial),
            revocation_time: when,
            reason_code: Some(RevocationReason::KeyCompromise),
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .expect("CRL")
    .der()
    .to_vec()
}

fn policy_with(crl: Vec<u8>) -> ValidationPolicy {
    ValidationPolicy::new(
        vec![read_der(&pki("root.pem"))],
        vec![crl, std::fs::read(pki("root.crl")).expect("root CRL")],
        None,
    )
}

#[test]
fn revoked_after_signing_needs_proof_of_existence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tsa = pkigen::issue(dir.path(), Kind::Tsa);
    let base = crate::support::pdfgen::base_pdf();
    let plain = pyhanko::sign(&base, "agency", &["--field", "Signature1"]);
    let stamped = pyhanko::sign(
        &base,
        "agency",
        &[
            "--field",
            "Signature1",
            "--tsa-key",
            tsa.key.to_str().expect("path"),
            "--tsa-cert",
            tsa.cert.to_str().expect("path"),
        ],
    );
    // Revoked two seconds after both were signed (the claimed times are whole seconds).
    std::thread::sleep(Duration::from_secs(2));
    let crl = crl_revoking_agency(time::OffsetDateTime::now_utc());
    let policy = policy_with(crl);

    let r = verify_pdf(&plain, &policy);
    assert_eq!(r.status, Indication::Indeterminate, "{}", r.render_text());
    assert_eq!(r.sub_indication, Some(SubIndication::RevokedNoPoe));

    let r = verify_pdf(&stamped, &policy);
    assert!(r.is_passed(), "{}", r.render_text());
    assert!(
        r.signatures[0]
            .checks
            .iter()
            .any(|c| c.name == "revocation" && c.detail.contains("after the time-stamp")),
        "{}",
        r.render_text()
    );

    // Revoked before signing: FAILED/REVOKED even with a time-stamp.
    let early = crl_revoking_agency(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    let r = verify_pdf(&stamped, &policy_with(early));
    assert_eq!(r.status, Indication::Failed, "{}", r.render_text());
    assert_eq!(r.sub_indication, Some(SubIndication::Revoked));
}

#[test]
fn trust_directory_reloads_and_the_report_says_why_an_anchor_is_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = TrustStore::open(dir.path()).expect("empty store");
    let pdf = crate::support::attacks::signed_base();
    let verify_with_store = |store: &TrustStore| {
        let mut r = verify_pdf(
            pdf,
            &ValidationPolicy::new(
                store.der_anchors(),
                vec![std::fs::read(pki("issuing-ca.crl")).expect("crl")],
                None,
            ),
        );
        r.explain_anchors(|h| store.reason(h));
        r
    };
    let r = verify_with_store(&store);
    assert_eq!(
        r.sub_indication,
        Some(SubIndication::NoCertificateChainFound)
    );

    std::fs::copy(pki("root.pem"), dir.path().join("gov-root.pem")).expect("copy root");
    assert_eq!(store.reload().expect("reload"), 1);
    let r = verify_with_store(&store);
    assert!(r.is_passed(), "{}", r.render_text());
    let anchor = r.signatures[0].trust_anchor.as_ref().expect("anchor");
    assert!(anchor.source.ends_with("gov-root.pem"), "{anchor:?}");
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
    assert!(
        json["signatures"][0]["trust_anchor"]["source"]
            .as_str()
            .is_some_and(|s| s.contains("gov-root.pem"))
    );

    std::fs::remove_file(dir.path().join("gov-root.pem")).expect("remove");
    assert_eq!(store.reload().expect("reload"), 0);
    assert!(!verify_with_store(&store).is_passed());
}

#[test]
fn a_reused_policy_remembers_signatures_but_judges_time_and_revocation_anew() {
    let pdf = crate::support::attacks::signed_base();
    let policy = crate::support::policy();
    assert_eq!(policy.remembered_signatures(), 0);
    let r = verify_pdf(pdf, &policy);
    assert!(r.is_passed(), "{}", r.render_text());
    // The agency's and the issuing CA's certificates, and the issuing CA's CRL.
    let remembered = policy.remembered_signatures();
    assert!(remembered >= 3, "{remembered}");
    let r = verify_pdf(pdf, &policy);
    assert!(r.is_passed(), "{}", r.render_text());
    assert_eq!(policy.remembered_signatures(), remembered);

    // Validity periods are judged at each verification's time, memo or not.
    let mut later = policy.clone();
    later.validation_time =
        Some(std::time::SystemTime::now() + Duration::from_secs(100 * 365 * 86_400));
    let r = verify_pdf(pdf, &later);
    assert_eq!(r.status, Indication::Indeterminate, "{}", r.render_text());
    assert!(
        r.signatures[0]
            .checks
            .iter()
            .any(|c| c.name == "validity" && !c.passed),
        "{}",
        r.render_text()
    );

    // Revocation is judged against the CRLs of each verification.
    let mut revoked = policy.clone();
    revoked.crls = vec![crl_revoking_agency(
        time::OffsetDateTime::now_utc() - time::Duration::days(3650),
    )];
    let r = verify_pdf(pdf, &revoked);
    assert_eq!(r.status, Indication::Failed, "{}", r.render_text());
    assert_eq!(r.sub_indication, Some(SubIndication::Revoked));

    // And the first policy still passes: nothing it remembers depends on time or CRL contents.
    let r = verify_pdf(pdf, &policy);
    assert!(r.is_passed(), "{}", r.render_text());
}
