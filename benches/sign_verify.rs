//! Sign and verify rates of saoy next to pyHanko's, on the same files in the same run.
//!
//! `cargo bench --bench sign_verify` (needs pyHanko: scripts/test installs it). For a 1-page
//! and a 20-page certified copy it measures, single-threaded:
//! - sign: one PAdES signature (agency RSA-2048 key) on the unsigned copy;
//! - verify: full validation (digest, signature, chain, CRLs, changes) of the copy signed
//!   twice by saoy, with one policy (saoy) / ValidationContext (pyHanko) reused across calls
//!   as a service does, and, on a second line, with a fresh one built for every call;
//!
//! and prints the rates and the ratios saoy / pyHanko. Timings are never asserted.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use saoy::digitize::{DigitizeOptions, UploadedFile, digitize};
use saoy::pdf::assemble::{CopyContent, assemble};
use saoy::pki::key::{Credential, RingKey, read_pem_certificates};
use saoy::sign::{SignRequest, sign_pdf};
use saoy::verify::{ValidationPolicy, verify_pdf};

const SECONDS: f64 = 2.0;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn pki(f: &str) -> PathBuf {
    root().join("certs-test").join(f)
}

fn credential(name: &str) -> Credential {
    let key = RingKey::load(&pki(&format!("{name}.key.pem"))).expect("key");
    let chain = read_pem_certificates(&pki(&format!("{name}-chain.pem"))).expect("chain");
    Credential::new(Arc::new(key), chain).expect("credential")
}

fn unsigned_copy(pages: usize) -> Vec<u8> {
    let jpeg =
        Bytes::from(std::fs::read(root().join("tests/data/sample-scan.jpg")).expect("sample"));
    let files: Vec<UploadedFile> = (0..pages)
        .map(|i| UploadedFile {
            name: format!("page-{i}.jpg"),
            media_type: Some("image/jpeg".into()),
            data: jpeg.clone(),
        })
        .collect();
    let digitized = digitize(
        &files,
        &DigitizeOptions {
            min_dpi: 200,
            allow_low_resolution: false,
            max_pixels_per_page: 150_000_000,
            max_pages: 500,
        },
    )
    .expect("digitize");
    let content = CopyContent {
        copy_id: "0190bench-0000-7000-8000-000000000000".into(),
        qr_payload: "0190bench-0000-7000-8000-000000000000".into(),
        statement: "Chứng thực bản sao đúng với bản chính.".into(),
        reference: "Số chứng thực: 1, quyển số 01/2026-SCT/BS".into(),
        date_line: "Ngày 24 tháng 11 năm 2026".into(),
        certifier_title: "Phó Chủ tịch UBND xã".into(),
        certifier_name: "Nguyễn Thị Hồng Nhung".into(),
        agency: "UBND xã Tân Lập".into(),
        stamp_lines: vec![
            "Bản sao điện tử chứng thực từ bản chính".into(),
            "UBND xã Tân Lập".into(),
            "2026-11-24T09:15:30+07:00".into(),
        ],
        title: "bench".into(),
        signing_time: time::macros::datetime!(2026-11-24 09:15:30 +07:00),
        pdfa: true,
    };
    assemble(&digitized, &content).expect("assemble").pdf
}

fn request<'a>(credential: &'a Credential, field: &str) -> SignRequest<'a> {
    SignRequest {
        credential,
        field_name: field.into(),
        page_index: 0,
        rect: [0.0; 4],
        signing_time: time::OffsetDateTime::now_utc(),
        signer_name: None,
        reason: None,
        location: None,
    }
}

/// Calls `f` for at least `SECONDS` (and 3 times) after one warm-up; returns calls per second.
fn rate(mut f: impl FnMut()) -> f64 {
    f();
    let start = Instant::now();
    let mut n = 0u32;
    loop {
        f();
        n += 1;
        let elapsed = start.elapsed();
        if elapsed >= Duration::from_secs_f64(SECONDS) && n >= 3 {
            return f64::from(n) / elapsed.as_secs_f64();
        }
    }
}

/// The same global allocator as the `saoy` binary (src/main.rs), so the rates are the service's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let agency = credential("agency");
    let certifier = credential("certifier");
    let policy = ValidationPolicy::new(
        saoy::pki::trust::load_certificates(pki("root.pem")).expect("root"),
        [pki("issuing-ca.crl"), pki("root.crl")]
            .iter()
            .flat_map(|p| saoy::pki::trust::load_crls(p).expect("crl"))
            .collect(),
        None,
    );
    // A policy built for each call: nothing remembered from earlier verifications.
    let fresh_policy = || {
        ValidationPolicy::new(
            policy.trust_anchors.clone(),
            policy.crls.clone(),
            policy.validation_time,
        )
    };
    time_stamp_cost(&agency, &certifier, &policy);
    if std::env::var_os("SAOY_BENCH_BT_ONLY").is_some() {
        return;
    }
    println!("saoy sign/verify benchmark vs pyHanko (same files, same run, single thread)\n");
    println!(
        "{:<8} {:>9} {:>13} {:>13} {:>9} {:>13} {:>13} {:>9}",
        "copy", "size", "saoy sign/s", "pyHanko/s", "ratio", "saoy verify/s", "pyHanko/s", "ratio"
    );
    println!(
        "(verify: one policy / ValidationContext reused across calls; \"fresh\": a new one per call)"
    );
    let dir = tempfile::tempdir().expect("tmp");
    for pages in [1usize, 20] {
        let unsigned = unsigned_copy(pages);
        let once = sign_pdf(&unsigned, &request(&agency, "Agency")).expect("sign");
        let signed = sign_pdf(&once, &request(&certifier, "Certifier")).expect("sign twice");
        assert!(
            verify_pdf(&signed, &policy).is_passed(),
            "bench input must verify"
        );

        let sign_rate = rate(|| {
            std::hint::black_box(sign_pdf(&unsigned, &request(&agency, "Agency")).expect("sign"));
        });
        let verify_rate = rate(|| {
            std::hint::black_box(verify_pdf(&signed, &policy));
        });
        let cold_rate = rate(|| {
            std::hint::black_box(verify_pdf(&signed, &fresh_policy()));
        });

        let unsigned_path = dir.path().join(format!("unsigned-{pages}.pdf"));
        let signed_path = dir.path().join(format!("signed-{pages}.pdf"));
        std::fs::write(&unsigned_path, &unsigned).expect("write");
        std::fs::write(&signed_path, &signed).expect("write");
        let out = Command::new("python3")
            .arg(root().join("tests/peers/pyhanko_bench.py"))
            .arg(&unsigned_path)
            .arg(&signed_path)
            .arg(pki("agency.key.pem"))
            .arg(pki("agency.pem"))
            .arg(pki("issuing-ca.pem"))
            .arg(pki("root.pem"))
            .args(["--seconds", &SECONDS.to_string()])
            .output()
            .expect("python3 with pyHanko (run scripts/test first)");
        assert!(
            out.status.success(),
            "pyHanko bench failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let peer: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let py_sign = peer["sign_per_s"].as_f64().unwrap_or(f64::NAN);
        let py_verify = peer["verify_per_s"].as_f64().unwrap_or(f64::NAN);
        let py_cold = peer["verify_fresh_context_per_s"]
            .as_f64()
            .unwrap_or(f64::NAN);
        println!(
            "{:<8} {:>8}K {:>13.1} {:>13.1} {:>8.1}x {:>13.1} {:>13.1} {:>8.1}x",
            format!("{pages}-page"),
            signed.len() / 1024,
            sign_rate,
            py_sign,
            sign_rate / py_sign,
            verify_rate,
            py_verify,
            verify_rate / py_verify
        );
        println!(
            "{:<8} {:>9} {:>13} {:>13} {:>9} {:>13.1} {:>13.1} {:>8.1}x",
            "  fresh",
            "",
            "",
            "",
            "",
            cold_rate,
            py_cold,
            cold_rate / py_cold
        );
    }
}

/// The cost of B-T per copy: both signatures of a 1-page copy and its self-verification, at
/// B-B and at B-T (each signature time-stamped by the test TSA, in-process over loopback
/// HTTP, every token checked by the client). `SAOY_BENCH_BT_ONLY=1` prints only this.
fn time_stamp_cost(agency: &Credential, certifier: &Credential, policy: &ValidationPolicy) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let pki_services = saoy::pkiserve::TestPki::load(
        &root().join("certs-test"),
        Arc::new(saoy::clock::SystemClock),
    )
    .expect("test PKI");
    runtime.spawn(saoy::pkiserve::serve(listener, Arc::new(pki_services)));
    let tsa = saoy::tsa::TsaClient::new(
        &saoy::tsa::TsaConfig::default(),
        vec![format!("http://{addr}/tsa")],
        policy.trust_anchors.clone(),
    );
    let unsigned = unsigned_copy(1);
    let copy = |stamper: Option<&dyn saoy::sign::SignatureTimeStamper>| {
        let once = saoy::sign::sign_pdf_stamped(&unsigned, &request(agency, "Agency"), stamper)
            .expect("sign");
        let twice = saoy::sign::sign_pdf_stamped(&once, &request(certifier, "Certifier"), stamper)
            .expect("sign");
        assert!(verify_pdf(&twice, policy).is_passed());
        std::hint::black_box(twice);
    };
    let bb = rate(|| copy(None));
    let bt = rate(|| copy(Some(&tsa)));
    println!(
        "B-T cost per copy (2 signatures + self-verification, 1 page): B-B {:.1} ms, B-T {:.1} ms, ratio {:.2}x\n",
        1000.0 / bb,
        1000.0 / bt,
        bb / bt
    );
}
