//! The public HTTP listener in tests: a real gRPC server (for certifying and revoking)
//! with the HTTP listener beside it on 127.0.0.1:0, its `public_base_url` that address
//! (so the QR codes lead to it), and a small HTTP/1.1 client (hyper).

use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use saoy::config::Config;

use super::client::{Upload, certify, messages, meta};
use super::server::{TestServer, start_with};

/// A server with its HTTP listener.
pub struct WebTest {
    /// The gRPC server (and the app).
    pub server: TestServer,
    /// The HTTP listener.
    pub web: saoy::web::WebServer,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl WebTest {
    /// The HTTP listener's address.
    pub fn addr(&self) -> SocketAddr {
        self.web.addr()
    }
}

/// Starts the server and its HTTP listener with limits raised for tests, then `adjust`.
pub async fn start_web_with(adjust: impl FnOnce(&mut Config)) -> WebTest {
    start_web_on(saoy::web::HttpConfig::default(), adjust).await
}

/// As [`start_web_with`], the listener bound with `http` (e.g. its TLS files).
pub async fn start_web_on(
    http: saoy::web::HttpConfig,
    adjust: impl FnOnce(&mut Config),
) -> WebTest {
    let listener = saoy::web::bind("127.0.0.1:0".parse().expect("addr"), &http)
        .await
        .expect("bind the HTTP listener");
    let addr = listener.local_addr();
    let scheme = if http.serves_tls() { "https" } else { "http" };
    let server = start_with(|c| {
        c.http = http;
        c.http.listen = addr;
        c.http.public_base_url = format!("{scheme}://{addr}");
        c.http.requests_per_second = 10_000;
        c.http.uploads_per_minute = 10_000;
        c.http.max_concurrent_uploads = 16;
        adjust(c);
    })
    .await;
    let web = saoy::web::start(std::sync::Arc::clone(&server.app), listener);
    WebTest {
        server,
        web,
        base: format!("{scheme}://{addr}"),
    }
}

/// An answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: hyper::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    }
}

/// One request on a fresh connection.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP handshake");
    tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let req = builder.body(Full::new(Bytes::from(body))).expect("request");
    let resp = sender.send_request(req).await.expect("response");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> Answer {
    request(addr, "GET", path, &[], Vec::new()).await
}

/// `POST path` with a PDF as the raw body.
pub async fn post_pdf(addr: SocketAddr, path: &str, pdf: &[u8]) -> Answer {
    request(
        addr,
        "POST",
        path,
        &[("content-type", "application/pdf")],
        pdf.to_vec(),
    )
    .await
}

/// `POST path` with a `multipart/form-data` form carrying `pdf` as its `file` field.
pub async fn post_form(addr: SocketAddr, path: &str, pdf: &[u8]) -> Answer {
    let boundary = "saoyTestBoundary7MA4YWxk";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"copy.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(pdf);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let content_type = format!("multipart/form-data; boundary={boundary}");
    request(
        addr,
        "POST",
        path,
        &[("content-type", content_type.as_str())],
        body,
    )
    .await
}

/// The sample JPEG scan shipped in tests/data.
pub fn sample_jpeg() -> Upload {
    Upload {
        name: "sample-scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(super::crate_dir().join("tests/data/sample-scan.jpg"))
            .expect("sample scan"),
    }
}

/// Certifies the sample scan for the test owner; returns the record and the copy's bytes.
pub async fn certify_sample(
    t: &WebTest,
    request_id: &str,
) -> (saoy::proto::CertificationRecord, Vec<u8>) {
    let record = certify(
        &t.server.url(),
        messages(Some(meta(request_id, 1)), &[sample_jpeg()]),
    )
    .await
    .expect("certify");
    let (_, bytes) = super::client::get_copy(&t.server.url(), &record.id)
        .await
        .expect("get copy");
    (record, bytes)
}

/// Revokes copy `id` as the test admin, naming `decision`.
pub async fn revoke(t: &WebTest, id: &str, decision: &str) {
    let mut client = saoy::proto::record_service_client::RecordServiceClient::new(
        t.server.channel("admin").await,
    );
    client
        .revoke_copy(saoy::proto::RevokeCopyRequest {
            id: id.into(),
            reason: decision.into(),
            by: "Chủ tịch UBND xã".into(),
            decision_number: "12/QĐ-UBND".into(),
            decision_date: "2025-01-02".into(),
            decided_by: "Chủ tịch UBND xã".into(),
        })
        .await
        .expect("revoke");
}

/// `pdf` with one byte of the embedded scan's JPEG data changed (inside the signed bytes:
/// every signature's digest then fails).
pub fn one_byte_changed(pdf: &[u8]) -> Vec<u8> {
    let jpeg = sample_jpeg().data;
    let probe = &jpeg[jpeg.len() / 2..jpeg.len() / 2 + 32];
    let at = pdf
        .windows(probe.len())
        .position(|w| w == probe)
        .expect("the scan's JPEG bytes are in the copy");
    let mut changed = pdf.to_vec();
    changed[at + 5] ^= 0x20;
    changed
}
