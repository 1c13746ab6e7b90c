//! The public HTTP listener beside gRPC, in the same process (axum): the page a copy's QR
//! code leads to (`GET /c/{id}`: the copy's standing, and a box to check a file against
//! it), `GET /` to check any signed PDF, and the JSON API (`POST /api/v1/verify`,
//! `GET /api/v1/copies/{id}`). Anonymous: it calls the app's public use cases
//! ([`App::public_standing`], [`App::verify_public`]) and never the store.
//!
//! Files: `config` (`[http]`), `listener` (TCP or TLS), `routes` (handlers, the guard),
//! `upload` (raw or multipart bodies, limits), `pages` (HTML), `verdict` (the sentence for
//! a person), `text` (languages, escaping), `json`, `limits` (per client address),
//! `problem` (failures → HTTP statuses, the one place).

mod config;
mod json;
mod limits;
mod listener;
mod pages;
mod problem;
mod routes;
mod text;
mod upload;
mod verdict;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::app::App;

pub use config::{DEFAULT_HTTP_LISTEN, HttpConfig, HttpConfigProblem};
pub use listener::{PeerAddr, WebListener};
pub use problem::status_of;
pub use routes::router;
pub use verdict::{Verdict, judge};

/// Binds `addr` (port 0: any free port) as the HTTP listener of `config` (TLS when
/// `http.tls_cert_file` is set). Call before the app opens, to fail early.
pub async fn bind(addr: SocketAddr, config: &HttpConfig) -> Result<WebListener, String> {
    let tls = match config.serves_tls() {
        true => Some(listener::acceptor(
            &config.tls_cert_file,
            &config.tls_key_file,
        )?),
        false => None,
    };
    let tcp = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen for HTTP on {addr}: {e}"))?;
    WebListener::new(tcp, tls).map_err(|e| format!("HTTP listener on {addr}: {e}"))
}

/// A running HTTP listener; [`crate::listening::Listening::stop`] (or dropping it) ends it.
pub type WebServer = crate::listening::Listening;

/// Serves the routes over `app` on `listener` until stopped.
pub fn start(app: Arc<App>, listener: WebListener) -> WebServer {
    let addr = listener.local_addr();
    let http = &app.config().http;
    let tls = http.serves_tls();
    if http.public_base_url.trim().is_empty() && http.listen.ip().is_unspecified() {
        tracing::warn!(
            base = %http.public_base_url(),
            "http.public_base_url is empty and the listener is on every interface: the QR codes \
             of new copies carry an address no phone can open; set http.public_base_url"
        );
    }
    let (stop, stopped) = oneshot::channel::<()>();
    let service = router(app).into_make_service_with_connect_info::<PeerAddr>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, service).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = served.await {
            tracing::error!(error = %e, "the HTTP listener stopped");
        }
    });
    tracing::info!(%addr, tls, "saoy serving the public verification page (HTTP)");
    WebServer::new(addr, stop, task)
}
