//! Trust anchors from a directory, reloaded without a restart, over real gRPC: a server whose
//! only trust is `trust.anchors_dir` (re-read every second) starts without the test root, so
//! a certified copy is NO_CERTIFICATE_CHAIN_FOUND; the root dropped in (with a reason) makes
//! the same Verify PASSED and the report names the anchor's file and reason; removing it takes
//! the trust away again; a broken file is reported and the previous set stays in force.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::client::{self, Upload};
use saoy::proto::verification_service_client::VerificationServiceClient;
use saoy::proto::{VerificationReport, VerifyRequest, verify_request::Source};

/// How long a reload may take to show (the interval is one second).
const DEADLINE: Duration = Duration::from_secs(20);

/// A certified copy signed under the test PKI, from a server that trusts the test root.
async fn certified_copy() -> Vec<u8> {
    let issuer = crate::support::server::start().await;
    let png = Upload {
        name: "sample-scan.png".into(),
        media_type: "image/png".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.png"))
            .expect("sample"),
    };
    let record = client::certify(
        &issuer.url(),
        client::messages(Some(client::meta("trust-dir-1", 1)), &[png]),
    )
    .await
    .expect("certify");
    let (header, pdf) = client::get_copy(&issuer.url(), &record.id)
        .await
        .expect("get copy");
    assert_eq!(
        header.report.as_ref().map(|r| r.status.as_str()),
        Some("PASSED")
    );
    pdf
}

async fn verify(url: &str, pdf: &[u8]) -> VerificationReport {
    let mut client =
        VerificationServiceClient::new(crate::support::client::channel(url, "none").await);
    let messages: Vec<VerifyRequest> = pdf
        .chunks(1 << 20)
        .map(|c| VerifyRequest {
            source: Some(Source::Chunk(c.to_vec())),
        })
        .collect();
    client
        .verify(futures::stream::iter(messages))
        .await
        .expect("Verify answers")
        .into_inner()
}

/// Verifies until `done` holds for the report, or panics after [`DEADLINE`].
async fn verify_until(
    url: &str,
    pdf: &[u8],
    what: &str,
    done: impl Fn(&VerificationReport) -> bool,
) -> VerificationReport {
    let start = Instant::now();
    loop {
        let report = verify(url, pdf).await;
        if done(&report) {
            return report;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not seen within {DEADLINE:?}; last report: {} {}",
            report.status,
            report.sub_indication
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until `done` holds, or panics after [`DEADLINE`].
async fn wait_until(what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not seen within {DEADLINE:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sha256_of_root() -> String {
    let pem = std::fs::read(crate::support::pki("root.pem")).expect("root");
    let der = pem::parse(&pem).expect("root PEM").into_contents();
    hex::encode(ring::digest::digest(&ring::digest::SHA256, &der))
}

/// Every signature's `trust_anchor` in the report's JSON.
fn anchors_in(report: &VerificationReport) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&report.json).expect("report JSON");
    json["signatures"]
        .as_array()
        .expect("signatures")
        .iter()
        .map(|s| s["trust_anchor"].clone())
        .collect()
}

fn assert_anchor(report: &VerificationReport, file: &Path, reason: &str) {
    let anchors = anchors_in(report);
    assert_eq!(anchors.len(), 2, "agency and certifier signatures");
    for a in anchors {
        assert_eq!(a["file"], file.display().to_string(), "{a}");
        assert_eq!(a["reason"], reason, "{a}");
        assert_eq!(a["sha256"], sha256_of_root(), "{a}");
        assert!(
            a["subject"].as_str().is_some_and(|s| s.contains("CN=")),
            "{a}"
        );
        assert!(
            a["source"]
                .as_str()
                .is_some_and(|s| s.contains("gov-root.pem") && s.contains(reason)),
            "{a}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anchors_directory_is_reloaded_without_restart_and_the_report_says_why() {
    let pdf = certified_copy().await;
    let dir = tempfile::tempdir().expect("trust dir");
    let trust_dir = dir.path().to_path_buf();
    let server = crate::support::server::start_with(|c| {
        c.trust.anchors.clear();
        c.trust.anchors_dir = trust_dir;
        c.trust.reload_interval_secs = 1;
    })
    .await;
    let url = server.url();
    assert!(server.app.trust_status().anchors.is_empty());

    // No anchor yet: no chain.
    let r = verify(&url, &pdf).await;
    assert_ne!(r.status, "PASSED");
    assert_eq!(r.sub_indication, "NO_CERTIFICATE_CHAIN_FOUND");

    // The root dropped in, with a reason line before its PEM block.
    let root_file = dir.path().join("gov-root.pem");
    let reason = "Root CA of the saoy TEST PKI, trusted for the trust_dir test";
    let root_pem = std::fs::read_to_string(crate::support::pki("root.pem")).expect("root");
    std::fs::write(&root_file, format!("# Reason: {reason}\n{root_pem}")).expect("write root");
    let r = verify_until(&url, &pdf, "root added", |r| r.status == "PASSED").await;
    assert_anchor(&r, &root_file, reason);
    let status = server.app.trust_status();
    assert_eq!(status.anchors.len(), 1);
    assert_eq!(status.anchors[0].reason.as_deref(), Some(reason));
    assert!(status.last_error.is_none());

    // Removed: no longer trusted.
    std::fs::remove_file(&root_file).expect("remove root");
    let r = verify_until(&url, &pdf, "root removed", |r| r.status != "PASSED").await;
    assert_eq!(r.sub_indication, "NO_CERTIFICATE_CHAIN_FOUND");
    assert!(server.app.trust_status().anchors.is_empty());

    // Back, this time with its reason in a sidecar file.
    let sidecar_reason = "Ban Cơ yếu Chính phủ test root (sidecar)";
    std::fs::write(
        dir.path().join("gov-root.reason"),
        format!("{sidecar_reason}\n"),
    )
    .expect("write reason");
    std::fs::write(&root_file, &root_pem).expect("write root");
    let r = verify_until(&url, &pdf, "root back", |r| r.status == "PASSED").await;
    assert_anchor(&r, &root_file, sidecar_reason);

    // A broken file: the reload fails naming it, the previous set stays, Verify keeps working.
    std::fs::write(
        dir.path().join("broken.pem"),
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    )
    .expect("write garbage");
    wait_until("the broken file reported", || {
        server
            .app
            .trust_status()
            .last_error
            .is_some_and(|e| e.contains("broken.pem"))
    })
    .await;
    assert_eq!(server.app.trust_status().anchors.len(), 1);
    let r = verify(&url, &pdf).await;
    assert_eq!(r.status, "PASSED", "{}", r.json);
    assert_anchor(&r, &root_file, sidecar_reason);

    // Fixed: the error clears, the set is as before.
    std::fs::remove_file(dir.path().join("broken.pem")).expect("remove garbage");
    wait_until("the error cleared", || {
        server.app.trust_status().last_error.is_none()
    })
    .await;
    assert_eq!(server.app.trust_status().anchors.len(), 1);
    let r = verify(&url, &pdf).await;
    assert_eq!(r.status, "PASSED", "{}", r.json);
}

#[tokio::test]
async fn a_broken_anchors_directory_refuses_to_start_and_names_the_file() {
    let dir = tempfile::tempdir().expect("trust dir");
    std::fs::write(dir.path().join("bad.crt"), b"not a certificate").expect("write");
    let data = tempfile::tempdir().expect("data");
    let mut config = crate::support::server::test_config(data.path());
    config.trust.anchors.clear();
    config.trust.anchors_dir = dir.path().to_path_buf();
    config
        .validate()
        .expect("config is valid; the file is judged when read");
    let err = saoy::app::App::open(config)
        .await
        .expect_err("a broken anchors directory is refused at start");
    assert!(err.to_string().contains("bad.crt"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_verify_takes_a_trust_directory_and_names_the_reason() {
    let pdf = certified_copy().await;
    let work = tempfile::tempdir().expect("work dir");
    let copy = work.path().join("copy.pdf");
    std::fs::write(&copy, &pdf).expect("write copy");
    let trust = work.path().join("roots");
    std::fs::create_dir(&trust).expect("roots dir");
    let root_file = trust.join("gov-root.pem");
    std::fs::copy(crate::support::pki("root.pem"), &root_file).expect("copy root");
    std::fs::write(trust.join("gov-root.reason"), "listed by the operator").expect("reason");
    let run = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_saoy"))
            .arg("verify")
            .arg(&copy)
            .args(args)
            .args(["--format", "json"])
            .output()
            .expect("saoy runs")
    };

    let out = run(&["--trust-dir".as_ref(), trust.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(json["status"], "PASSED");
    let anchor = &json["signatures"][0]["trust_anchor"];
    assert_eq!(anchor["file"], root_file.display().to_string(), "{anchor}");
    assert_eq!(anchor["reason"], "listed by the operator", "{anchor}");

    // `--trust FILE` keeps working (and reads the same sidecar).
    let out = run(&["--trust".as_ref(), root_file.as_os_str()]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["signatures"][1]["trust_anchor"]["reason"],
        "listed by the operator"
    );

    // An empty directory trusts nothing; so does neither option (no usage error: every
    // signature is still reported, and the report says nothing was trusted).
    let empty = work.path().join("empty");
    std::fs::create_dir(&empty).expect("empty dir");
    let out = run(&["--trust-dir".as_ref(), empty.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["sub_indication"], "NO_CERTIFICATE_CHAIN_FOUND",
        "{json}"
    );
    assert!(
        json["messages"].to_string().contains("nothing was trusted"),
        "{json}"
    );
}
