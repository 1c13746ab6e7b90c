//! The file entry point streams a large signed PDF and reaches the same verdict as the
//! in-memory one.

use crate::support::bigpdf;

use std::path::PathBuf;

use saoy::verify::{verify_file, verify_pdf};

#[test]
fn a_20_mb_signed_file_verifies_through_the_file_entry_point() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let pdf = bigpdf::signed(&root, 20);
    assert!(pdf.len() > 20_000_000, "{} bytes", pdf.len());
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("big.pdf");
    std::fs::write(&path, &pdf).expect("write");
    let mut policy = bigpdf::policy(&root);
    policy.validation_time = Some(std::time::SystemTime::now());
    let from_file = verify_file(&path, &policy).expect("open");
    assert!(from_file.is_passed(), "{}", from_file.to_json());
    let in_memory = verify_pdf(&pdf, &policy);
    assert_eq!(from_file.to_json(), in_memory.to_json());

    // One flipped byte inside an image stream is caught by the streamed digest.
    let mut bad = pdf.clone();
    let at = bad.len() / 2;
    bad[at] ^= 1;
    std::fs::write(&path, &bad).expect("write");
    let r = verify_file(&path, &policy).expect("open");
    assert!(!r.is_passed());
    assert!(r.to_json().contains("HASH_FAILURE"), "{}", r.to_json());
    assert!(verify_file(&dir.path().join("missing.pdf"), &policy).is_err());
}
