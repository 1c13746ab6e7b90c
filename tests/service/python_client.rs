//! A client in another stack: Python grpcio, with stubs generated from proto/ at test time,
//! verifies a copy and reads a citizen's records over mutual TLS.

use crate::support::client::{self, Upload};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_grpcio_client_verifies_and_reads_over_mutual_tls() {
    let server = crate::support::server::start().await;
    let owner = "001203004567";
    let mut meta = client::meta("py-1", 1);
    meta.owner_id = owner.into();
    let scan = Upload {
        name: "scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    };
    let record = client::certify(&server.url(), client::messages(Some(meta), &[scan]))
        .await
        .expect("certify");
    let (_, pdf) = client::get_copy(&server.url(), &record.id).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.pdf");
    std::fs::write(&copy, &pdf).unwrap();
    let root = crate::support::root();
    let token = client::citizen_token(owner, 300);
    let target = format!("localhost:{}", server.addr.port());
    let output = tokio::process::Command::new("python3")
        .arg(root.join("tests/peers/grpc_client.py"))
        .arg(root.join("proto"))
        .arg(root.join("certs-test/tls"))
        .arg(&target)
        .arg(&copy)
        .arg(owner)
        .arg(&token)
        .output()
        .await
        .expect("python3 runs (scripts/test installs grpcio and grpcio-tools)");
    assert!(
        output.status.success(),
        "python client failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(got["verify_status"], "PASSED", "{got}");
    assert_eq!(got["verify_signatures"], 2, "{got}");
    assert_eq!(got["records"], serde_json::json!([record.id]), "{got}");
    assert_eq!(got["without_assertion"], "PERMISSION_DENIED", "{got}");
}
