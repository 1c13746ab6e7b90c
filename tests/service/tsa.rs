//! Time-stamps (PAdES B-T, issue 12 step 1) against real peers: `openssl ts -verify` accepts
//! saoy's test TSA; pyHanko time-stamps with it and saoy passes the result; a copy certified
//! on the embedded default is B-T in saoy, pyHanko and pdfsig; failover over a TSA that is
//! down, slow, answers garbage or lacks the EKU; with none left Certify fails and the book
//! entry is voided with the reason; with the explicit B-B settings a B-B copy is made.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use saoy::records::{EntryState, Registry};
use saoy::store::{LocalStore, ObjectStore};
use saoy::tsa::{TsaClient, TsaConfig};

use crate::support::client::{self, Upload};
use crate::support::pki;

/// Serves the test PKI of `dir` on a free port of 127.0.0.1; its TSA URL.
async fn serve_pki(dir: &Path) -> String {
    let loaded = saoy::pkiserve::TestPki::load(dir, Arc::new(saoy::clock::SystemClock))
        .expect("test PKI loads");
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(saoy::pkiserve::serve(l, Arc::new(loaded)));
    format!("http://{addr}/tsa")
}

/// A port nothing listens on.
fn down_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}/tsa")
}

/// A TSA that accepts connections and never answers.
async fn slow_url() -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    format!("http://{addr}/tsa")
}

/// A TSA that answers 200 with bytes that are no TimeStampResp.
async fn garbage_url() -> String {
    let app = axum::Router::new().route(
        "/tsa",
        axum::routing::post(|| async { "<html>garbage</html>" }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    format!("http://{addr}/tsa")
}

/// A test PKI directory whose TSA certificate (issued by the same issuing CA) has no
/// extKeyUsage: its tokens chain to the root but must not be used.
fn pki_without_eku(dir: &Path) {
    for f in ["root.pem", "root.crl", "issuing-ca.crl"] {
        std::fs::copy(pki(f), dir.join(f)).unwrap();
    }
    let issued = crate::support::pkigen::issue(dir, crate::support::pkigen::Kind::SignerP384);
    std::fs::rename(&issued.key, dir.join("tsa.key.pem")).unwrap();
    std::fs::rename(&issued.chain, dir.join("tsa-chain.pem")).unwrap();
}

fn root_der() -> Vec<Vec<u8>> {
    saoy::pki::key::read_pem_certificates(&pki("root.pem")).unwrap()
}

fn client_of(urls: Vec<String>) -> TsaClient {
    let config = TsaConfig {
        timeout_ms: 700,
        ..TsaConfig::default()
    };
    TsaClient::new(&config, urls, root_der())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_ts_verify_accepts_the_test_tsa() {
    let url = serve_pki(&pki("")).await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"sao y ban chinh").unwrap();
    let query = dir.path().join("q.tsq");
    let ok = Command::new("openssl")
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(&data)
        .arg("-out")
        .arg(&query)
        .status()
        .expect("openssl");
    assert!(ok.success());
    let answer = saoy::tsa::http::post(
        &url,
        "application/timestamp-query",
        std::fs::read(&query).unwrap(),
        std::time::Duration::from_secs(5),
        65536,
    )
    .await
    .expect("the TSA answers");
    let reply = dir.path().join("r.tsr");
    std::fs::write(&reply, &answer).unwrap();
    for how in [
        ["-data", data.to_str().unwrap()],
        ["-queryfile", query.to_str().unwrap()],
    ] {
        let out = Command::new("openssl")
            .args(["ts", "-verify", "-in"])
            .arg(&reply)
            .args(how)
            .arg("-CAfile")
            .arg(pki("root.pem"))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("Verification: OK"),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Two answers have different serials (unique per token), the policy and accuracy set.
    let second = saoy::tsa::http::post(
        &url,
        "application/timestamp-query",
        std::fs::read(&query).unwrap(),
        std::time::Duration::from_secs(5),
        65536,
    )
    .await
    .unwrap();
    let text = |der: &[u8]| {
        let p = dir.path().join("x.tsr");
        std::fs::write(&p, der).unwrap();
        let o = Command::new("openssl")
            .args(["ts", "-reply", "-text", "-in"])
            .arg(&p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let (a, b) = (text(&answer), text(&second));
    let serial = |t: &str| {
        t.lines()
            .find(|l| l.starts_with("Serial number"))
            .map(str::to_string)
    };
    assert_ne!(serial(&a), serial(&b), "{a}\n{b}");
    assert!(
        a.contains("Policy OID: 1.3.6.1.4.1.59881.3161.1") && a.contains("Accuracy: 0x01 seconds"),
        "{a}"
    );
    // A request that is not one is refused with a status, not a crash.
    let refused = saoy::tsa::http::post(
        &url,
        "application/timestamp-query",
        b"nonsense".to_vec(),
        std::time::Duration::from_secs(5),
        65536,
    )
    .await
    .unwrap();
    std::fs::write(dir.path().join("bad.tsr"), &refused).unwrap();
    let o = Command::new("openssl")
        .args(["ts", "-reply", "-text", "-in"])
        .arg(dir.path().join("bad.tsr"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Rejected"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pyhanko_time_stamps_with_the_test_tsa_and_saoy_passes_it() {
    let url = serve_pki(&pki("")).await;
    let signed = tokio::task::spawn_blocking(move || {
        crate::support::pyhanko::sign(
            &crate::support::pdfgen::base_pdf(),
            "certifier",
            &["--timestamp-url", &url],
        )
    })
    .await
    .unwrap();
    let report = saoy::verify::verify_pdf(&signed, &crate::support::policy());
    assert!(report.is_passed(), "{}", report.render_text());
    let sig = &report.signatures[0];
    assert_eq!(
        sig.level.as_deref(),
        Some("B-T"),
        "{}",
        report.render_text()
    );
    assert!(sig.timestamp.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failover_passes_over_down_slow_garbage_and_no_eku_tsas() {
    let no_eku = tempfile::tempdir().unwrap();
    pki_without_eku(no_eku.path());
    let bad = vec![
        down_url(),
        slow_url().await,
        garbage_url().await,
        serve_pki(no_eku.path()).await,
    ];
    let good = serve_pki(&pki("")).await;
    let with_good = client_of([bad.clone(), vec![good]].concat());
    let token = with_good
        .time_stamp_async(b"signature value")
        .await
        .expect("the last TSA answers");
    let check = saoy::verify::check_timestamp_token(&token, b"signature value", &root_der());
    assert!(check.is_good(), "{check:?}");

    let err = client_of(bad.clone())
        .time_stamp_async(b"x")
        .await
        .unwrap_err()
        .to_string();
    for (url, why) in bad.iter().zip([
        "Connection refused",
        "no answer within 700 ms",
        "not an RFC 3161 TimeStampResp",
        "id-kp-timeStamping",
    ]) {
        assert!(
            err.contains(&format!("{url}: ")) && err.contains(why),
            "{why}: {err}"
        );
    }
}

async fn book(dir: &Path) -> BTreeMap<u64, EntryState> {
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir).await.expect("store"));
    let year = time::OffsetDateTime::now_utc()
        .to_offset(saoy::app::VIETNAM_OFFSET)
        .year();
    Registry::new(store)
        .book_entries("H72.21.01", year)
        .await
        .expect("book")
        .into_iter()
        .map(|e| (e.number, e.state))
        .collect()
}

fn scan() -> Vec<Upload> {
    vec![Upload {
        name: "sample-scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    }]
}

/// `saoy verify --format json` of `pdf`: the levels and time-stamps of its signatures.
fn levels(pdf: &[u8]) -> Vec<(String, bool)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.pdf");
    std::fs::write(&path, pdf).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_saoy"))
        .arg("verify")
        .arg(&path)
        .arg("--trust")
        .arg(pki("root.pem"))
        .arg("--crl")
        .arg(pki("issuing-ca.crl"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "PASSED", "{json}");
    json["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["level"].as_str().unwrap_or("").to_string(),
                !s["timestamp"].is_null(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_on_the_embedded_default_is_b_t_in_saoy_pyhanko_and_pdfsig() {
    // The default configuration: level B-T, no [tsa] urls, the in-process test TSA.
    let server = crate::support::server::start().await;
    let record = client::certify(
        &server.url(),
        client::messages(Some(client::meta("bt-1", 1)), &scan()),
    )
    .await
    .expect("certify at B-T");
    let (_, pdf) = client::get_copy(&server.url(), &record.id)
        .await
        .expect("get copy");
    assert_eq!(levels(&pdf), vec![("B-T".to_string(), true); 2]);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.pdf");
    std::fs::write(&path, &pdf).unwrap();
    let root = pki("root.pem");
    let crl = pki("issuing-ca.crl");
    let verdicts = crate::support::peers::pyhanko_validate(&path, &[&root], &[&crl]);
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    for v in &verdicts {
        assert!(
            v.intact && v.valid && v.trusted && v.error.is_none(),
            "pyHanko: {v:?}"
        );
        assert!(
            v.timestamp_time.is_some() && v.timestamp_trusted == Some(true),
            "pyHanko's time-stamp: {v:?}"
        );
    }
    let pdfsig = crate::support::peers::pdfsig(&path, &root);
    assert_eq!(pdfsig.matches("Signature is Valid").count(), 2, "{pdfsig}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_tsa_left_certify_fails_and_the_number_is_voided_with_the_reason() {
    let bad = vec![down_url(), garbage_url().await];
    let server = crate::support::server::start_with(|c| {
        c.tsa.urls = bad.clone();
        c.tsa.timeout_ms = 700;
    })
    .await;
    let err = client::certify(
        &server.url(),
        client::messages(Some(client::meta("bt-fail", 1)), &scan()),
    )
    .await
    .expect_err("no TSA: no copy");
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");
    assert!(
        err.message()
            .contains("no time-stamping authority gave a usable time-stamp"),
        "{}",
        err.message()
    );
    let entries = book(&server.data_dir()).await;
    assert_eq!(entries.keys().copied().collect::<Vec<_>>(), vec![1]);
    match &entries[&1] {
        EntryState::Void { reason, .. } => assert!(reason.contains("time-stamp"), "{reason}"),
        other => panic!("number 1 should be void: {other:?}"),
    }

    // Explicitly allowed: a B-B copy, and the clerk is told.
    drop(server);
    let bad2 = bad.clone();
    let server = crate::support::server::start_with(move |c| {
        c.tsa.urls = bad2;
        c.tsa.timeout_ms = 700;
        c.tsa.allow_unstamped = true;
    })
    .await;
    let record = client::certify(
        &server.url(),
        client::messages(Some(client::meta("bb-allowed", 1)), &scan()),
    )
    .await
    .expect("B-B allowed");
    assert!(
        record
            .warnings
            .iter()
            .any(|w| w.contains("B-B, without a time-stamp")),
        "{:?}",
        record.warnings
    );
    let (_, pdf) = client::get_copy(&server.url(), &record.id).await.unwrap();
    assert_eq!(levels(&pdf), vec![("B-B".to_string(), false); 2]);

    // signing.level = "B-B": no TSA is asked at all.
    let server = crate::support::server::start_with(|c| {
        c.signing.level = saoy::sign::SignatureLevel::BB;
        c.tsa.urls = vec![down_url()];
    })
    .await;
    let record = client::certify(
        &server.url(),
        client::messages(Some(client::meta("bb-level", 1)), &scan()),
    )
    .await
    .expect("B-B level");
    let (_, pdf) = client::get_copy(&server.url(), &record.id).await.unwrap();
    assert_eq!(levels(&pdf), vec![("B-B".to_string(), false); 2]);
}
