//! `saoy pki serve`: the TEST PKI's services over HTTP (like pyHanko's Certomancer), at
//! `127.0.0.1:50070` by default ([`DEFAULT_PKI_LISTEN`]):
//! - `GET /crl/issuing-ca.crl`, `GET /crl/root.crl`: the test hierarchy's CRLs (DER);
//! - `POST /tsa`: an RFC 3161 TSA (`application/timestamp-query` →
//!   `application/timestamp-reply`) signing with `certs-test/tsa.key.pem`;
//! - `GET /pki/id`: the SHA-256 of the root certificate (DER, hex), by which another saoy
//!   tells that the address is already served for the same test PKI.
//!
//! `saoy serve` on the TEST PKI runs these in-process ([`ensure_embedded`]), once per
//! process, on a thread of their own; an address already serving the same test PKI is
//! used as it is.

mod tsa;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Deserialize;

use crate::clock::{Clock, SystemClock};
use crate::pki::key::{Credential, read_pem_certificates};
pub use tsa::{TEST_TSA_POLICY, TestTsa};

/// The default address of the test PKI services (the one in the test certificates).
pub const DEFAULT_PKI_LISTEN: &str = "127.0.0.1:50070";

/// Largest request body the services read (a TimeStampReq is ~100 bytes).
const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Errors loading or starting the test PKI services.
#[derive(Debug, thiserror::Error)]
pub enum PkiServeError {
    /// A file of the test hierarchy is missing or unreadable.
    #[error("test PKI file {path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What is wrong (run `saoy pki add-tsa` for a missing tsa.pem).
        message: String,
    },
    /// The address cannot be listened on, and no saoy of the same test PKI answers there.
    #[error("cannot serve the test PKI at {addr}: {message}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
}

impl PkiServeError {
    /// The kind of this failure: the services are not available.
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Unavailable
    }
}

/// `[pki]`: where the in-process test PKI services listen (TEST PKI only).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PkiConfig {
    /// The address of the test CRLs and TSA; `--pki-listen` overrides it.
    pub listen: SocketAddr,
    /// The test hierarchy's directory (its TSA key, CRLs and root).
    pub dir: std::path::PathBuf,
}

impl Default for PkiConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50070)),
            dir: std::path::PathBuf::from("certs-test"),
        }
    }
}

impl PkiConfig {
    /// The URL of the test TSA at this address.
    pub fn tsa_url(&self) -> String {
        format!("http://{}/tsa", self.listen)
    }
}

/// The test hierarchy's services: CRLs and the TSA.
pub struct TestPki {
    issuing_crl: Vec<u8>,
    root_crl: Vec<u8>,
    id: String,
    tsa: TestTsa,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

fn read(dir: &Path, file: &str) -> Result<Vec<u8>, PkiServeError> {
    let path = dir.join(file);
    std::fs::read(&path).map_err(|e| PkiServeError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// The identity of the test PKI in `dir`: SHA-256 (hex) of its root certificate's DER.
pub fn pki_id(dir: &Path) -> Result<String, PkiServeError> {
    let path = dir.join("root.pem");
    let certs = read_pem_certificates(&path).map_err(|e| PkiServeError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let root = certs.first().ok_or_else(|| PkiServeError::File {
        path: path.display().to_string(),
        message: "no certificate".into(),
    })?;
    Ok(crate::hash::sha256_hex(root))
}

impl TestPki {
    /// Loads the services of the test hierarchy in `dir` (`certs-test`), timed by `clock`.
    pub fn load(dir: &Path, clock: Arc<dyn Clock>) -> Result<Self, PkiServeError> {
        let credential = Credential::load(&dir.join("tsa.key.pem"), &dir.join("tsa-chain.pem"))
            .map_err(|e| PkiServeError::File {
                path: dir.join("tsa.key.pem").display().to_string(),
                message: format!("{e} (the test TSA: `saoy pki add-tsa`)"),
            })?;
        Ok(Self {
            issuing_crl: read(dir, "issuing-ca.crl")?,
            root_crl: read(dir, "root.crl")?,
            id: pki_id(dir)?,
            tsa: TestTsa::new(credential, clock.now()),
            clock,
        })
    }

    /// The TSA's answer to a DER TimeStampReq, now.
    pub fn time_stamp(&self, request: &[u8]) -> Vec<u8> {
        self.tsa.respond(request, self.clock.now())
    }
}

/// The HTTP routes of the services.
pub fn router(pki: Arc<TestPki>) -> Router {
    let crl = |which: fn(&TestPki) -> &[u8]| {
        move |State(p): State<Arc<TestPki>>| async move {
            (
                [(header::CONTENT_TYPE, "application/pkix-crl")],
                which(&p).to_vec(),
            )
        }
    };
    Router::new()
        .route("/crl/issuing-ca.crl", get(crl(|p| &p.issuing_crl)))
        .route("/crl/root.crl", get(crl(|p| &p.root_crl)))
        .route(
            "/pki/id",
            get(|State(p): State<Arc<TestPki>>| async move { p.id.clone() }),
        )
        .route("/tsa", post(tsa_route))
        .route(
            "/",
            get(|| async {
                "saoy TEST PKI services: /crl/issuing-ca.crl, /crl/root.crl, POST /tsa, /pki/id\n"
            }),
        )
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(pki)
}

async fn tsa_route(State(p): State<Arc<TestPki>>, body: Bytes) -> impl IntoResponse {
    let answer = tokio::task::spawn_blocking(move || p.time_stamp(&body)).await;
    match answer {
        Ok(der) if !der.is_empty() => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/timestamp-reply")],
            der,
        )
            .into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Serves the services on `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, pki: Arc<TestPki>) -> std::io::Result<()> {
    axum::serve(listener, router(pki)).await
}

/// How the test PKI services are available to this process, and where.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Embedded {
    /// This process serves them at this address (the port chosen by the system when the
    /// configured one is 0).
    Serving(SocketAddr),
    /// Another saoy of the same test PKI already serves them at this address.
    Reused(SocketAddr),
}

impl Embedded {
    /// Where the services answer.
    pub fn addr(self) -> SocketAddr {
        match self {
            Embedded::Serving(a) | Embedded::Reused(a) => a,
        }
    }
}

/// Makes sure the services of the test PKI in `dir` answer at `addr`: serves them in this
/// process (on a thread and runtime of their own, until the process ends) unless this
/// process already does, or another saoy of the same test PKI already does there.
pub fn ensure_embedded(dir: &Path, addr: SocketAddr) -> Result<Embedded, PkiServeError> {
    // (asked for, bound) pairs this process serves.
    static SERVED: OnceLock<Mutex<Vec<(SocketAddr, SocketAddr)>>> = OnceLock::new();
    let served = SERVED.get_or_init(|| Mutex::new(Vec::new()));
    let mut served = served.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, bound)) = served.iter().find(|(asked, _)| *asked == addr) {
        return Ok(Embedded::Serving(*bound));
    }
    let listen_err = |message: String| PkiServeError::Listen { addr, message };
    let id = pki_id(dir)?;
    let listener = match std::net::TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return match probe_id(addr) {
                Some(other) if other == id => Ok(Embedded::Reused(addr)),
                Some(_) => Err(listen_err("another test PKI is served there".into())),
                None => Err(listen_err(format!(
                    "{e}, and no saoy test PKI answers there"
                ))),
            };
        }
        Err(e) => return Err(listen_err(e.to_string())),
    };
    listener
        .set_nonblocking(true)
        .map_err(|e| listen_err(e.to_string()))?;
    let bound = listener
        .local_addr()
        .map_err(|e| listen_err(e.to_string()))?;
    let pki = Arc::new(TestPki::load(dir, Arc::new(SystemClock))?);
    std::thread::Builder::new()
        .name("saoy-test-pki".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, "test PKI services: no runtime"),
            };
            rt.block_on(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        if let Err(e) = serve(l, pki).await {
                            tracing::error!(error = %e, "test PKI services stopped");
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "test PKI services: listener"),
                }
            });
        })
        .map_err(|e| listen_err(e.to_string()))?;
    served.push((addr, bound));
    tracing::info!(pki_listen = %bound, "TEST PKI services (CRLs, TSA) served in-process");
    Ok(Embedded::Serving(bound))
}

/// The `/pki/id` answered at `addr`, if a saoy test PKI answers there within a second.
fn probe_id(addr: SocketAddr) -> Option<String> {
    let timeout = Duration::from_secs(1);
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    s.set_read_timeout(Some(timeout)).ok()?;
    s.set_write_timeout(Some(timeout)).ok()?;
    s.write_all(format!("GET /pki/id HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .ok()?;
    let mut answer = Vec::new();
    s.take(4096).read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n")?;
    (head.starts_with("HTTP/1.") && head.contains(" 200")).then(|| body.trim().to_string())
}
