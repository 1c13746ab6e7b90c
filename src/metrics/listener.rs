//! The metrics listener: plain HTTP (axum) on its own address, `GET /metrics` only, never
//! on the public HTTP listener. Not authenticated: keep it on loopback or a private network.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::Metrics;

/// Content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr` (port 0: any free port) for the metrics listener.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen for metrics on {addr}: {e}"))
}

/// A running metrics listener; [`crate::listening::Listening::stop`] (or dropping it) ends it.
pub type MetricsServer = crate::listening::Listening;

async fn scrape(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, OPENMETRICS)],
        metrics.encode(),
    )
}

/// Serves `GET /metrics` of `metrics` on `listener` until stopped.
pub fn serve(metrics: Arc<Metrics>, listener: TcpListener) -> Result<MetricsServer, String> {
    let addr = listener
        .local_addr()
        .map_err(|e| format!("metrics listener: {e}"))?;
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        if let Err(e) = served.await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    tracing::info!(%addr, "saoy serving metrics (GET /metrics)");
    Ok(MetricsServer::new(addr, stop, task))
}
