//! The public HTTP listener against a real server: the standing page and its JSON, the
//! verification API (same status as `saoy verify` on the DSS corpus), limits (413 before
//! the body is read, 429 per client address, X-Forwarded-For only from a trusted proxy),
//! garbage answered clearly, security headers, and no personal data anywhere.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::web::{
    certify_sample, get, one_byte_changed, post_form, post_pdf, request, revoke, start_web_on,
    start_web_with,
};

/// The test owner's personal ID (support::client::meta) and the test certifier's, from
/// the UID of its certificate (certs-test/certifier-chain.pem).
const OWNER_ID: &str = "079203001234";
const CERTIFIER_ID: &str = "072190000001";

#[track_caller]
fn assert_no_personal_data(what: &str, text: &str) {
    for id in [OWNER_ID, CERTIFIER_ID] {
        assert!(
            !text.contains(id),
            "{what} shows the personal ID {id}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standing_page_and_json_show_the_copy_and_nothing_personal() {
    let t = start_web_with(|_| {}).await;
    let (record, pdf) = certify_sample(&t, "web-standing-1").await;

    let page = get(t.addr(), &format!("/c/{}", record.id)).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    for needle in [
        "Bản sao còn hiệu lực",
        "UBND xã Tân Lập",
        record.reference.as_str(),
        record.copy_sha256.as_str(),
        "Nguyễn Thị Hồng Nhung",
        "Phó Chủ tịch UBND xã",
        "lang=\"vi\"",
    ] {
        assert!(
            html.contains(needle),
            "the standing page lacks {needle:?}:\n{html}"
        );
    }
    assert!(!html.contains("<script"), "no script on the standing page");
    assert_no_personal_data("the standing page", &html);
    let csp = page.header("content-security-policy");
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    let english = get(t.addr(), &format!("/c/{}?lang=en", record.id))
        .await
        .text();
    assert!(
        english.contains("This copy is valid.") && english.contains("lang=\"en\""),
        "{english}"
    );

    let json = get(t.addr(), &format!("/api/v1/copies/{}", record.id)).await;
    assert_eq!(json.status, 200);
    assert!(json.header("content-type").starts_with("application/json"));
    assert_no_personal_data("the standing JSON", &json.text());
    let s = json.json();
    assert_eq!(s["agency"], "UBND xã Tân Lập");
    assert_eq!(
        s["number"],
        record
            .reference
            .split(',')
            .next()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    );
    assert_eq!(s["status"], "valid");
    assert!(s["revocation"].is_null());
    assert_eq!(s["versions"][0]["sha256"], record.copy_sha256);
    assert_eq!(s["url"], format!("{}/c/{}", t.base, record.id));
    let names: Vec<&str> = s["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["UBND xã Tân Lập", "Nguyễn Thị Hồng Nhung"], "{s}");
    assert_eq!(s["signers"][1]["title"], "Phó Chủ tịch UBND xã");
    for key in ["book", "year", "issued_at"] {
        assert!(!s[key].is_null(), "{key} missing: {s}");
    }

    // The verification API: the CLI's JSON plus `copy`; nothing personal either.
    let v = post_pdf(t.addr(), "/api/v1/verify", &pdf).await;
    assert_eq!(v.status, 200, "{}", v.text());
    assert_no_personal_data("the verification JSON", &v.text());
    let v = v.json();
    assert_eq!(v["status"], "PASSED", "{v}");
    assert_eq!(v["copy"]["id"], record.id);
    assert_eq!(v["copy"]["status"], "valid");
    for key in ["status", "sub_indication", "signatures", "messages"] {
        assert!(v.get(key).is_some(), "top-level key {key} missing");
    }
    let subject = v["signatures"][1]["signer"]["subject"].as_str().unwrap();
    assert!(
        subject.to_ascii_lowercase().contains("uid=[redacted]"),
        "{subject}"
    );
    // The form upload of the standing page: same bytes, valid.
    let checked = post_form(t.addr(), &format!("/c/{}/check", record.id), &pdf).await;
    assert_eq!(checked.status, 200);
    let html = checked.text();
    assert!(
        html.contains("Bản sao điện tử hợp lệ") && html.contains("đúng là tệp đã cấp"),
        "{html}"
    );
    assert_no_personal_data("the check page", &html);

    // A changed copy is no copy of ours, and says it was changed after signing.
    let changed = post_pdf(t.addr(), "/api/v1/verify", &one_byte_changed(&pdf))
        .await
        .json();
    assert_eq!(changed["status"], "FAILED");
    assert!(changed["copy"].is_null());
    let page = post_form(t.addr(), "/verify", &one_byte_changed(&pdf))
        .await
        .text();
    assert!(page.contains("Tệp đã bị sửa sau khi ký"), "{page}");

    // Unknown, malformed and well-formed-but-absent ids look alike.
    let a = get(t.addr(), "/c/not-an-id").await;
    let b = get(t.addr(), "/c/01936b1e-7c3a-7d2e-9f00-4b1d2c3e4f50").await;
    assert_eq!((a.status, b.status), (404, 404));
    assert_eq!(a.text(), b.text());
    let a = get(t.addr(), "/api/v1/copies/not-an-id").await;
    let b = get(
        t.addr(),
        "/api/v1/copies/01936b1e-7c3a-7d2e-9f00-4b1d2c3e4f50",
    )
    .await;
    assert_eq!((a.status, b.status, a.text()), (404, 404, b.text()));

    // Revoked: the standing says so with the decision.
    revoke(&t, &record.id, "Quyết định số 12/QĐ-UBND ngày 01/12/2026").await;
    let s = get(t.addr(), &format!("/api/v1/copies/{}", record.id))
        .await
        .json();
    assert_eq!(s["status"], "revoked");
    assert_eq!(
        s["revocation"]["decision"],
        "Quyết định số 12/QĐ-UBND ngày 01/12/2026"
    );
    let v = post_pdf(t.addr(), "/api/v1/verify", &pdf).await.json();
    assert_eq!(
        (v["status"].as_str(), v["sub_indication"].as_str()),
        (Some("FAILED"), Some("REVOKED"))
    );
    let page = post_form(t.addr(), "/verify?lang=en", &pdf).await.text();
    assert!(
        page.contains("This certified copy has been revoked: Quyết định số 12/QĐ-UBND"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_a_clear_answer_and_an_oversized_upload_413_at_once() {
    let t = start_web_with(|c| c.http.max_upload_bytes = 1 << 20).await;
    // Not a PDF: a report, not an error.
    let v = post_pdf(t.addr(), "/api/v1/verify", b"\x00\xffnot a pdf").await;
    assert_eq!(v.status, 200, "{}", v.text());
    assert_eq!(v.json()["status"], "FAILED");
    assert!(v.json()["copy"].is_null());
    let page = post_form(t.addr(), "/verify", b"hello").await;
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("không phải tệp PDF có chữ ký số"),
        "{}",
        page.text()
    );
    // Nothing, a broken form, random bytes: 4xx or a report, never a 500.
    let empty = post_pdf(t.addr(), "/api/v1/verify", b"").await;
    assert_eq!(empty.status, 400);
    assert!(empty.json()["error"].as_str().unwrap().contains("No file"));
    let broken = request(
        t.addr(),
        "POST",
        "/api/v1/verify",
        &[("content-type", "multipart/form-data; boundary=x")],
        b"--x\r\nno end".to_vec(),
    )
    .await;
    assert_eq!(broken.status, 400, "{}", broken.text());
    let mut noise = vec![0u8; 300_000];
    let mut x = 0x2545F491u32;
    for b in noise.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = x as u8;
    }
    noise[..8].copy_from_slice(b"%PDF-1.7");
    let r = post_pdf(t.addr(), "/api/v1/verify", &noise).await;
    assert_eq!(r.status, 200);
    assert_ne!(r.json()["status"], "PASSED");
    assert_eq!(get(t.addr(), "/nowhere").await.status, 404);
    assert_eq!(get(t.addr(), "/api/v1/nowhere").await.status, 404);

    // 100 MiB announced, a few bytes sent: refused before the body is read.
    let started = Instant::now();
    let mut s = tokio::net::TcpStream::connect(t.addr()).await.unwrap();
    s.write_all(
        format!(
            "POST /api/v1/verify HTTP/1.1\r\nHost: {}\r\nContent-Type: application/pdf\r\nContent-Length: {}\r\n\r\n%PDF-1.7\n",
            t.addr(),
            100u64 << 20
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let mut head = vec![0u8; 512];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut head))
        .await
        .expect("an answer before the body is sent")
        .unwrap();
    let head = String::from_utf8_lossy(&head[..n]).into_owned();
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // A body that grows past the limit without announcing its length.
    let big = vec![b'x'; (1 << 20) + 10];
    let r = request(
        t.addr(),
        "POST",
        "/api/v1/verify",
        &[
            ("content-type", "application/pdf"),
            ("transfer-encoding", "chunked"),
        ],
        big,
    )
    .await;
    assert_eq!(r.status, 413, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_per_client_address_and_forwarded_for_only_from_a_proxy() {
    // 1 request per second, burst 2; the loopback is the only trusted proxy.
    let t = start_web_with(|c| {
        c.http.requests_per_second = 1;
        c.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    let from = |ip: &'static str| [("x-forwarded-for", ip)];
    for _ in 0..2 {
        assert_eq!(
            request(t.addr(), "GET", "/", &from("203.0.113.1"), vec![])
                .await
                .status,
            200
        );
    }
    let refused = request(t.addr(), "GET", "/", &from("203.0.113.1"), vec![]).await;
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), "1");
    assert!(refused.text().contains("http.requests_per_second"));
    // Another client behind the proxy has its own bucket.
    assert_eq!(
        request(t.addr(), "GET", "/", &from("203.0.113.2"), vec![])
            .await
            .status,
        200
    );

    // Not a trusted proxy: the header is ignored, the peer's own address counts.
    let t = start_web_with(|c| {
        c.http.requests_per_second = 1;
        c.http.uploads_per_minute = 1;
    })
    .await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            request(t.addr(), "GET", "/", &from(ip), vec![])
                .await
                .status,
            200
        );
    }
    assert_eq!(
        request(t.addr(), "GET", "/", &from("203.0.113.3"), vec![])
            .await
            .status,
        429
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Uploads have their own, slower limit.
    assert_eq!(post_pdf(t.addr(), "/api/v1/verify", b"x").await.status, 200);
    let second = post_pdf(t.addr(), "/api/v1/verify", b"x").await;
    assert_eq!(second.status, 429, "{}", second.text());
    assert!(second.text().contains("http.uploads_per_minute"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_verify_gives_the_status_of_saoy_verify_on_the_dss_corpus() {
    let Some(dir) = crate::support::corpus::corpus("dss-validation", "expectations.json") else {
        return;
    };
    let t = start_web_with(|_| {}).await;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pdf"))
        .collect();
    files.sort();
    assert!(files.len() > 10, "the DSS corpus looks empty");
    let pki = |f: &str| crate::support::pki(f);
    for file in files {
        let pdf = std::fs::read(&file).unwrap();
        let api = post_pdf(t.addr(), "/api/v1/verify", &pdf).await;
        assert_eq!(api.status, 200, "{}: {}", file.display(), api.text());
        let api = api.json();
        // The server's trust: the test root and its CRLs, as on the command line here.
        let cli = std::process::Command::new(env!("CARGO_BIN_EXE_saoy"))
            .arg("verify")
            .arg(&file)
            .arg("--trust")
            .arg(pki("root.pem"))
            .arg("--crl")
            .arg(pki("issuing-ca.crl"))
            .arg("--crl")
            .arg(pki("root.crl"))
            .args(["--format", "json"])
            .output()
            .unwrap();
        let cli: serde_json::Value = serde_json::from_slice(&cli.stdout)
            .unwrap_or_else(|e| panic!("{}: saoy verify printed no JSON: {e}", file.display()));
        assert_eq!(
            (&api["status"], &api["sub_indication"]),
            (&cli["status"], &cli["sub_indication"]),
            "{}",
            file.display()
        );
        assert_eq!(
            api["signatures"].as_array().map(Vec::len),
            cli["signatures"].as_array().map(Vec::len),
            "{}",
            file.display()
        );
        assert!(api["copy"].is_null());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_listener_serves_https_itself_with_a_configured_certificate() {
    use tokio_rustls::rustls;
    let pki = crate::support::pki;
    let http = saoy::web::HttpConfig {
        tls_cert_file: pki("tls/server.pem"),
        tls_key_file: pki("tls/server.key.pem"),
        ..saoy::web::HttpConfig::default()
    };
    let t = start_web_on(http, |_| {}).await;
    assert!(t.base.starts_with("https://"), "{}", t.base);
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from(
            crate::support::read_der(&pki("tls/ca.pem")),
        ))
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(t.addr()).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.expect("TLS handshake");
    tls.write_all(b"GET /?lang=en HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("strict-transport-security: max-age="),
        "{answer}"
    );
    assert!(
        answer.contains("Check an electronic certified copy"),
        "{answer}"
    );
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut raw = tokio::net::TcpStream::connect(t.addr()).await.unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), raw.read_to_end(&mut got)).await;
    assert!(
        !got.starts_with(b"HTTP/"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}
