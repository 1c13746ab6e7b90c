//! Builds the tonic server: the three saoy services plus standard health and reflection.

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower_layer::{Identity, Stack};

use super::caller::Door;
use super::certification::CertificationApi;
use super::digitization::DigitizationApi;
use super::observe::ObserveLayer;
use super::records::RecordApi;
use super::verification::VerificationApi;
use super::{connection, tls};
use crate::app::App;
use crate::proto::certification_service_server::CertificationServiceServer;
use crate::proto::digitization_service_server::DigitizationServiceServer;
use crate::proto::record_service_server::RecordServiceServer;
use crate::proto::verification_service_server::VerificationServiceServer;

/// Largest message the server accepts: one chunk plus headroom.
const MAX_MESSAGE: usize = 4 << 20;

/// The names of the services whose health the store probe sets.
fn service_names() -> [&'static str; 4] {
    use tonic::server::NamedService;
    [
        <CertificationServiceServer<CertificationApi> as NamedService>::NAME,
        <VerificationServiceServer<VerificationApi> as NamedService>::NAME,
        <RecordServiceServer<RecordApi> as NamedService>::NAME,
        <DigitizationServiceServer<DigitizationApi> as NamedService>::NAME,
    ]
}

/// Probes the store every `metrics.store_probe_interval_ms` and sets every service (and
/// the server as a whole, `""`) NOT_SERVING while it cannot be reached, SERVING again when
/// it can. Runs until aborted.
async fn probe_store(app: Arc<App>, reporter: HealthReporter) {
    let config = &app.config().metrics;
    let every = Duration::from_millis(config.store_probe_interval_ms.max(10));
    let timeout = Duration::from_millis(config.store_probe_timeout_ms.max(10));
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut serving = true;
    loop {
        tick.tick().await;
        let up = app.store_reachable(timeout).await;
        if up == serving {
            continue;
        }
        serving = up;
        let status = match up {
            true => {
                tracing::info!(store = %app.store_description(), "the store answers again: SERVING");
                ServingStatus::Serving
            }
            false => {
                tracing::warn!(store = %app.store_description(), "the store cannot be reached: NOT_SERVING");
                ServingStatus::NotServing
            }
        };
        for name in service_names().into_iter().chain([""]) {
            reporter.set_service_status(name, status).await;
        }
    }
}

/// The router with every service mounted.
pub async fn router(app: Arc<App>) -> Router<Stack<ObserveLayer, Identity>> {
    router_and_health(app).await.0
}

/// The router, and the health reporter of its health service.
async fn router_and_health(
    app: Arc<App>,
) -> (Router<Stack<ObserveLayer, Identity>>, HealthReporter) {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<CertificationServiceServer<CertificationApi>>()
        .await;
    health_reporter
        .set_serving::<VerificationServiceServer<VerificationApi>>()
        .await;
    health_reporter
        .set_serving::<RecordServiceServer<RecordApi>>()
        .await;
    health_reporter
        .set_serving::<DigitizationServiceServer<DigitizationApi>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .ok();
    let observe = ObserveLayer::new(Arc::clone(app.metrics()));
    let door = Door::new(app);
    let router = Server::builder()
        .layer(observe)
        .add_service(health_service)
        .add_service(
            CertificationServiceServer::new(CertificationApi::new(door.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            VerificationServiceServer::new(VerificationApi::new(door.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(
            DigitizationServiceServer::new(DigitizationApi::new(door.clone()))
                .max_decoding_message_size(MAX_MESSAGE),
        )
        .add_service(RecordServiceServer::new(RecordApi::new(door)));
    (router.add_optional_service(reflection), health_reporter)
}

/// Serves on an already bound listener until `shutdown` resolves: TLS with client
/// certificates asked for (see [`tls`]), or plaintext when `server.insecure_plaintext` is
/// set (logged as a warning: every caller is then anonymous).
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> crate::error::Result<()> {
    app.spawn_pending_sweeper();
    let server = &app.config().server;
    let acceptor = if server.insecure_plaintext {
        tracing::warn!(
            "server.insecure_plaintext = true: gRPC WITHOUT TLS; no caller can prove who it is, \
             so only the public calls work. Use it only on a trusted loopback"
        );
        None
    } else {
        Some(tls::acceptor(server, app.client_ca_subjects())?)
    };
    let timeout = Duration::from_millis(server.handshake_timeout_ms);
    let incoming = connection::incoming(listener, acceptor, timeout);
    let (router, health) = router_and_health(Arc::clone(&app)).await;
    let probe = tokio::spawn(probe_store(app, health));
    let served = router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| crate::error::Error::Internal(format!("gRPC server: {e}")));
    probe.abort();
    served
}

/// Binds `addr` (use port 0 for an ephemeral port) and returns the listener and its address.
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}
