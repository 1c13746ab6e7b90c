//! The standard gRPC health service reports every saoy service as SERVING.

use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_serving_for_each_service() {
    let server = crate::support::server::start().await;
    // Health is public: no client certificate.
    let channel = server.channel("none").await;
    let mut health = HealthClient::new(channel);
    for service in [
        "saoy.v1.CertificationService",
        "saoy.v1.VerificationService",
        "saoy.v1.RecordService",
    ] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap_or_else(|e| panic!("{service}: {e}"))
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service}");
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "saoy.v1.Nope".into(),
        })
        .await
        .expect_err("unknown services are NOT_FOUND");
    assert_eq!(unknown.code(), tonic::Code::NotFound);
}
