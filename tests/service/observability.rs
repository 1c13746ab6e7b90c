//! Observability of a running server: `/metrics` on its own listener shows the calls just
//! made (by method and gRPC code), the certify stages, signatures, verifications and store
//! operations; the public HTTP listener has no `/metrics`; the request id of a call comes
//! back in `x-request-id` and is in its audit entry; and the gRPC health status turns
//! NOT_SERVING while the store (s3s-fs, killed) cannot be reached, SERVING when it is back.

use std::sync::Arc;
use std::time::{Duration, Instant};

use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::verification_service_client::VerificationServiceClient;
use saoy::proto::{VerifyRequest, verify_request::Source};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

use crate::support::client::{messages, meta};
use crate::support::web::{self, sample_jpeg, start_web_with};

/// The value of one series (`name{labels}`) in a scrape; 0 when absent.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    let answer = web::get(addr, "/metrics").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(
        answer.header("content-type").contains("openmetrics-text"),
        "{:?}",
        answer.headers
    );
    answer.text()
}

fn verify_messages(pdf: &[u8]) -> Vec<VerifyRequest> {
    pdf.chunks(64 * 1024)
        .map(|c| VerifyRequest {
            source: Some(Source::Chunk(c.to_vec())),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_show_the_calls_made_and_stay_off_the_public_listener() {
    let t = start_web_with(|_| {}).await;
    let metrics_addr = t.server.metrics.addr();
    assert_ne!(metrics_addr, t.addr(), "metrics have their own listener");
    let before = scrape(metrics_addr).await;
    let certify_ok =
        r#"saoy_grpc_requests_total{method="saoy.v1.CertificationService/Certify",code="OK"}"#;
    assert_eq!(value(&before, certify_ok), 0.0, "{before}");

    // Certify with our request id: it comes back, and the audit entry carries it.
    let mut certify = CertificationServiceClient::new(t.server.channel("clerk").await);
    let mut request = tonic::Request::new(futures::stream::iter(messages(
        Some(meta("obs-1", 1)),
        &[sample_jpeg()],
    )));
    request
        .metadata_mut()
        .insert("x-request-id", "obs-req-1".parse().unwrap());
    let answer = certify.certify(request).await.expect("certify");
    assert_eq!(
        answer
            .metadata()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok()),
        Some("obs-req-1")
    );
    let record = answer.into_inner();
    let (_, pdf) = crate::support::client::get_copy(&t.server.url(), &record.id)
        .await
        .expect("get copy");

    // Verify the copy (OK), then an empty Verify (INVALID_ARGUMENT) with an id too long
    // to be taken: a new one is made and sent back with the error.
    let mut verify = VerificationServiceClient::new(t.server.channel("none").await);
    let report = verify
        .verify(futures::stream::iter(verify_messages(&pdf)))
        .await
        .expect("verify")
        .into_inner();
    assert_eq!(report.status, "PASSED", "{report:?}");
    let mut empty = tonic::Request::new(futures::stream::iter(Vec::<VerifyRequest>::new()));
    empty
        .metadata_mut()
        .insert("x-request-id", "x".repeat(129).parse().unwrap());
    let refused = verify.verify(empty).await.expect_err("nothing to verify");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let made = refused
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(
        saoy::metrics::request_id::is_valid(&made) && made.len() == 36,
        "{made:?}"
    );

    // The answers' ends are recorded when their bodies are dropped: allow a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = scrape(metrics_addr).await;
        if value(&text, "saoy_grpc_streams_in_flight") == 0.0 || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(value(&text, certify_ok), 1.0, "{text}");
    for (series, at_least) in [
        (
            r#"saoy_grpc_requests_total{method="saoy.v1.RecordService/GetCopy",code="OK"}"#,
            1.0,
        ),
        (
            r#"saoy_grpc_requests_total{method="saoy.v1.VerificationService/Verify",code="OK"}"#,
            1.0,
        ),
        (
            r#"saoy_grpc_requests_total{method="saoy.v1.VerificationService/Verify",code="INVALID_ARGUMENT"}"#,
            1.0,
        ),
        (
            r#"saoy_grpc_request_duration_seconds_count{method="saoy.v1.CertificationService/Certify",code="OK"}"#,
            1.0,
        ),
        (
            r#"saoy_certify_stage_duration_seconds_count{stage="digitise"}"#,
            1.0,
        ),
        (
            r#"saoy_certify_stage_duration_seconds_count{stage="assemble"}"#,
            1.0,
        ),
        (
            r#"saoy_certify_stage_duration_seconds_count{stage="sign"}"#,
            1.0,
        ),
        (
            r#"saoy_certify_stage_duration_seconds_count{stage="verify"}"#,
            1.0,
        ),
        (
            r#"saoy_certify_stage_duration_seconds_count{stage="store"}"#,
            1.0,
        ),
        (r#"saoy_sign_operations_total{outcome="ok"}"#, 1.0),
        (
            r#"saoy_verify_operations_total{source="issued",outcome="passed"}"#,
            1.0,
        ),
        (
            r#"saoy_verify_operations_total{source="upload",outcome="passed"}"#,
            1.0,
        ),
        (
            r#"saoy_verify_operations_total{source="stored",outcome="passed"}"#,
            1.0,
        ),
        (r#"saoy_store_operations_total{op="put_if_absent"}"#, 1.0),
        (r#"saoy_store_operations_total{op="get"}"#, 1.0),
        ("saoy_store_reachable", 1.0),
    ] {
        assert!(
            value(&text, series) >= at_least,
            "{series} < {at_least}:\n{text}"
        );
    }
    assert_eq!(value(&text, "saoy_grpc_streams_in_flight"), 0.0, "{text}");

    // Never on the public listener.
    let public = web::get(t.addr(), "/metrics").await;
    assert_eq!(public.status, 404, "{}", public.text());

    // The certification's audit entry names the request id.
    let audit = t.server.data_dir().join("audit");
    let mut found = false;
    let mut stack = vec![audit];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read_to_string(&p)
                .is_ok_and(|s| s.contains(r#""request_id":"obs-req-1""#))
            {
                found = true;
            }
        }
    }
    assert!(found, "no audit entry carries request id obs-req-1");
}

async fn status_of(health: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    health
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .unwrap_or_else(|e| panic!("{service}: {e}"))
        .into_inner()
        .status
}

/// Polls until every service reports `want`, at most `within`.
async fn wait_for(
    health: &mut HealthClient<tonic::transport::Channel>,
    want: ServingStatus,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let mut all = true;
        for service in ["", "saoy.v1.CertificationService", "saoy.v1.RecordService"] {
            all &= status_of(health, service).await == want as i32;
        }
        if all {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "health did not turn {want:?} within {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_not_serving_while_the_store_is_down() {
    let mut s3 = crate::support::s3::S3Server::start();
    let store: Arc<dyn saoy::store::ObjectStore> = Arc::new(s3.store("obs/").await);
    let server = crate::support::server::start_on(Some(store), |c| {
        c.metrics.store_probe_interval_ms = 100;
        c.metrics.store_probe_timeout_ms = 1_000;
    })
    .await;
    let mut health = HealthClient::new(server.channel("none").await);
    wait_for(&mut health, ServingStatus::Serving, Duration::from_secs(5)).await;

    tokio::task::block_in_place(|| s3.stop());
    wait_for(
        &mut health,
        ServingStatus::NotServing,
        Duration::from_secs(20),
    )
    .await;
    let text = scrape(server.metrics.addr()).await;
    assert_eq!(value(&text, "saoy_store_reachable"), 0.0, "{text}");
    assert!(
        value(
            &text,
            r#"saoy_store_errors_total{op="get",kind="unavailable"}"#
        ) >= 1.0,
        "{text}"
    );

    tokio::task::block_in_place(|| s3.restart());
    wait_for(&mut health, ServingStatus::Serving, Duration::from_secs(30)).await;
    let text = scrape(server.metrics.addr()).await;
    assert_eq!(value(&text, "saoy_store_reachable"), 1.0, "{text}");
}
