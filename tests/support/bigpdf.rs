//! Large signed PDFs for the streaming verifier: pages carrying big incompressible image
//! streams, signed by saoy with the test PKI (agency key). Used by tests/verify_streaming.rs
//! and benches/verify_large.rs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lopdf::{Document, Object, Stream, dictionary};
use saoy::pki::key::{Credential, RingKey, read_pem_certificates};
use saoy::sign::{SignRequest, sign_pdf};
use saoy::verify::ValidationPolicy;

fn pki(root: &Path, f: &str) -> PathBuf {
    root.join("certs-test").join(f)
}

/// An unsigned PDF of about `mb` MiB: pages of 4 MiB random RGB images.
pub fn unsigned(mb: usize) -> Vec<u8> {
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    let side = 1182usize; // 1182² × 3 ≈ 4 MiB
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..mb.div_ceil(4).max(1) {
        let mut px = vec![0u8; side * side * 3];
        for chunk in px.chunks_mut(8) {
            // xorshift: incompressible bytes, fast
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            for (d, s) in chunk.iter_mut().zip(seed.to_le_bytes()) {
                *d = s;
            }
        }
        let img = doc.add_object(Stream::new(
            dictionary! {
                "Type" => "XObject", "Subtype" => "Image",
                "Width" => side as i64, "Height" => side as i64,
                "ColorSpace" => "DeviceRGB", "BitsPerComponent" => 8,
            },
            px,
        ));
        let content = doc.add_object(Stream::new(
            dictionary! {},
            b"q 595 0 0 595 0 123 cm /Im0 Do Q".to_vec(),
        ));
        let page = doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "Im0" => img } },
            "Contents" => content,
        });
        kids.push(Object::Reference(page));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut out = Vec::new();
    doc.save_to(&mut out).expect("save");
    out
}

/// `unsigned(mb)` signed once by the agency key of the test PKI.
pub fn signed(root: &Path, mb: usize) -> Vec<u8> {
    let key = RingKey::load(&pki(root, "agency.key.pem")).expect("key");
    let chain = read_pem_certificates(&pki(root, "agency-chain.pem")).expect("chain");
    let credential = Credential::new(Arc::new(key), chain).expect("credential");
    sign_pdf(
        &unsigned(mb),
        &SignRequest {
            credential: &credential,
            field_name: "Signature_Agency".into(),
            page_index: 0,
            rect: [0.0; 4],
            signing_time: time::OffsetDateTime::now_utc(),
            signer_name: None,
            reason: None,
            location: None,
        },
    )
    .expect("sign")
}

/// The policy of the test PKI: its root and CRLs.
pub fn policy(root: &Path) -> ValidationPolicy {
    ValidationPolicy::new(
        saoy::pki::trust::load_certificates(pki(root, "root.pem")).expect("root"),
        ["issuing-ca.crl", "root.crl"]
            .iter()
            .flat_map(|f| saoy::pki::trust::load_crls(pki(root, f)).expect("crl"))
            .collect(),
        None,
    )
}
