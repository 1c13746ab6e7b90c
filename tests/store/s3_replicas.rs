//! Two real `saoy serve` processes sharing one S3 bucket (s3s-fs behind the serialising
//! proxy of `crate::support::s3`) take 200 concurrent Certify calls for one agency: the numbers are
//! exactly 1..=200, each with its record and copy, and `saoy book export` lists them all.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use crate::support::client::{self, Upload};
use crate::support::s3::S3Server;
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::records::{EntryState, Registry};
use saoy::store::{S3Location, S3Store};

const CALLS: usize = 200;

/// A `saoy serve` child process; killed when dropped.
struct Saoy {
    child: Child,
    url: String,
}

impl Drop for Saoy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn saoy(server: &S3Server, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_saoy"));
    cmd.args(args)
        .current_dir(crate::support::root())
        .envs(server.env())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

/// Starts `saoy serve --store URL` on 127.0.0.1:0 and waits for its address.
fn serve(server: &S3Server, store: &str) -> Saoy {
    // One clerk certificate makes all the calls at once: raise its per-caller limits.
    let config = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("s3-replicas.toml");
    std::fs::write(
        &config,
        "[server]\nmax_concurrent_calls = 10000\nrequests_per_second = 100000\n",
    )
    .expect("write config");
    let config = config.to_str().expect("UTF-8 path");
    let mut child = saoy(
        server,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            // Each replica its own public HTTP port (the default one is taken by the first).
            "--http-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--store",
            store,
            "--config",
            config,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start saoy");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(at) = line.find("addr=") {
                let addr: String = line[at + 5..]
                    .chars()
                    .take_while(|c| !c.is_whitespace())
                    .collect();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(Ok(addr));
                }
            } else if line.contains("error")
                && let Some(tx) = tx.as_ref()
            {
                let _ = tx.send(Err(line.clone()));
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("saoy reports its address")
        .unwrap_or_else(|e| panic!("saoy failed to start: {e}"));
    Saoy {
        child,
        url: format!("https://{addr}"),
    }
}

fn jpeg() -> Upload {
    Upload {
        name: "sample-scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(crate::support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_share_one_book_without_gap_or_duplicate() {
    let s3 = S3Server::start();
    let bucket = "saoy-replicas";
    s3.create_bucket(bucket).await;
    let url = format!("s3://{bucket}/agency");
    let a = serve(&s3, &url);
    let b = serve(&s3, &url);

    let upload = Arc::new(jpeg());
    let mut clients = Vec::new();
    for replica in [&a, &b] {
        clients.push(CertificationServiceClient::new(
            crate::support::client::channel(&replica.url, "clerk").await,
        ));
    }
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..CALLS {
        let mut client = clients[i % 2].clone();
        let upload = Arc::clone(&upload);
        calls.spawn(async move {
            let messages = client::messages(
                Some(client::meta(&format!("replica-call-{i}"), 1)),
                std::slice::from_ref(&upload),
            );
            client
                .certify(futures::stream::iter(messages))
                .await
                .map(tonic::Response::into_inner)
        });
    }
    let mut records = Vec::new();
    while let Some(done) = calls.join_next().await {
        records.push(done.expect("task").expect("certify succeeds"));
    }
    let numbers: Vec<u64> = records.iter().map(|r| r.number).collect();
    let unique: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(unique.len(), CALLS, "duplicate numbers: {numbers:?}");
    assert_eq!(
        unique,
        (1..=CALLS as u64).collect::<BTreeSet<u64>>(),
        "numbers are not exactly 1..={CALLS}"
    );

    // Every number has its record and its copy in the bucket, read by a third party.
    let store = S3Store::connect(S3Location::parse(&url).unwrap(), &s3.options())
        .await
        .unwrap();
    let registry = Registry::new(Arc::new(store));
    for r in &records {
        let stored = registry.get(&r.id).await.unwrap().expect("record stored");
        assert_eq!(
            (stored.number, &stored.copy_sha256),
            (r.number, &r.copy_sha256)
        );
        let copy = registry
            .copy_bytes(&r.id)
            .await
            .unwrap()
            .expect("copy stored");
        assert_eq!(saoy::app::sha256_hex(&copy), r.copy_sha256);
    }
    let year = records[0].year;
    let entries = registry
        .book_entries("H72.21.01", year as i32)
        .await
        .unwrap();
    assert_eq!(entries.len(), CALLS);
    assert!(
        entries
            .iter()
            .all(|e| matches!(e.state, EntryState::Issued { .. })),
        "every entry is issued"
    );

    // The exported book lists them all, by number.
    let export = saoy(
        &s3,
        &[
            "book",
            "export",
            "--agency",
            "H72.21.01",
            "--year",
            &year.to_string(),
            "--store",
            &url,
        ],
    )
    .output()
    .expect("run saoy book export");
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let csv = String::from_utf8(export.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), CALLS + 1, "{csv}");
    assert_eq!(lines[0], saoy::records::BOOK_CSV_HEADER);
    for (i, line) in lines[1..].iter().enumerate() {
        assert!(
            line.starts_with(&format!("{},issued,", i + 1)),
            "line {}: {line}",
            i + 1
        );
    }
    drop((a, b));
}
