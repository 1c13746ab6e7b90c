//! The audit trail of a running server: certifying and reading leave entries in the agency's
//! chain, refused calls in the chain of calls without an agency; `saoy audit verify` finds
//! the log intact, an edited entry, and (against the checkpoint copy the server wrote to a
//! second store) a tail that was cut off.

use std::process::Command;

use crate::support::client::{self, Upload};

fn audit_verify(data: &std::path::Path, copy: Option<&std::path::Path>) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_saoy"));
    cmd.args(["audit", "verify", "--data"])
        .arg(data)
        .current_dir(crate::support::root());
    if let Some(c) = copy {
        cmd.arg("--checkpoint-copy").arg(c);
    }
    let out = cmd.output().expect("saoy runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_access_is_logged_and_tampering_is_found() {
    let copy = tempfile::tempdir().unwrap();
    let copy_dir = copy.path().to_path_buf();
    let server = crate::support::server::start_with(|c| {
        c.audit.checkpoint_every_entries = 1;
        c.audit.checkpoint_copy = copy_dir.display().to_string();
    })
    .await;
    let scan = Upload {
        name: "scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    };
    for i in 0..2 {
        let meta = client::meta(&format!("audit-{i}"), 1);
        let r = client::certify(
            &server.url(),
            client::messages(Some(meta), std::slice::from_ref(&scan)),
        )
        .await
        .expect("certify");
        client::get_copy(&server.url(), &r.id)
            .await
            .expect("read back");
    }
    // A refused call: a clerk of another commune reads nothing, and it is logged.
    let mut other = saoy::proto::record_service_client::RecordServiceClient::new(
        server.channel("clerk2").await,
    );
    let refused = other
        .get_copy(saoy::proto::GetCopyRequest {
            id: "0190e1c2-0000-7000-8000-000000000001".into(),
        })
        .await;
    assert_eq!(
        refused.err().map(|s| s.code()),
        Some(tonic::Code::PermissionDenied)
    );

    let data = server.data.path().to_path_buf();
    let (code, text) = audit_verify(&data, Some(&copy_dir));
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("H72.21.01") && text.contains("H72.21.02"),
        "{text}"
    );
    assert!(copy_dir.join("audit").is_dir(), "checkpoints were copied");

    // Cut the tail of the agency's chain (its newest block and checkpoint): the store
    // alone cannot tell, the checkpoint copy can.
    let blocks = data.join("audit/H72.21.01/blocks");
    let mut names: Vec<_> = std::fs::read_dir(&blocks)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    let last = names.last().unwrap().clone();
    let kept = std::fs::read(&last).unwrap();
    std::fs::remove_file(&last).unwrap();
    let checkpoint = data
        .join("audit/H72.21.01/checkpoints")
        .join(last.file_name().unwrap());
    let _ = std::fs::remove_file(&checkpoint);
    let (code, text) = audit_verify(&data, Some(&copy_dir));
    assert_ne!(code, 0, "a cut tail must be seen against the copy: {text}");
    std::fs::write(&last, kept).unwrap();

    // Edit one entry of the first block: found, and named.
    let first = &names[0];
    let text_of = std::fs::read_to_string(first).unwrap();
    let edited = text_of
        .replacen("GetCopy", "Certify", 1)
        .replacen("\"ok\"", "\"OK\"", 1);
    assert_ne!(edited, text_of);
    std::fs::write(first, edited).unwrap();
    let (code, text) = audit_verify(&data, None);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FIRST PROBLEM"), "{text}");
}
