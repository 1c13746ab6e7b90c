//! The S3 server goes down in the middle of a load run and comes back on the same port and
//! data: calls made while it is down fail with UNAVAILABLE, calls afterwards succeed, no
//! acknowledged copy is lost, and `store check` finds no dangling record or index entry.
//!
//! One in-process saoy server (`support::server::start_with`) on an s3s-fs bucket (behind the
//! serialising proxy of `support::s3`, which stays up and answers 502 while s3s-fs is down).

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use saoy::proto::CertificationRecord;
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::records::check::{CheckOptions, FindingKind, check_store};
use saoy::records::{EntryState, Registry};
use saoy::store::{ObjectStore, S3Location, S3Store};
use support::client::{self, Upload};
use support::s3::S3Server;
use tonic::Code;

const AGENCY: &str = "H72.21.01";
const WORKERS: usize = 4;
/// Upper bound for each waiting phase.
const PHASE_LIMIT: Duration = Duration::from_secs(90);

/// Where the store was when a call started and ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Before = 0,
    Down = 1,
    After = 2,
}

struct Outcome {
    started: Phase,
    ended: Phase,
    result: Result<CertificationRecord, (Code, String)>,
}

fn phase(p: &AtomicUsize) -> Phase {
    match p.load(Ordering::SeqCst) {
        0 => Phase::Before,
        1 => Phase::Down,
        _ => Phase::After,
    }
}

fn jpeg() -> Upload {
    Upload {
        name: "sample-scan.jpg".into(),
        media_type: "image/jpeg".into(),
        data: std::fs::read(support::root().join("tests/data/sample-scan.jpg")).unwrap(),
    }
}

async fn call(
    client: &mut CertificationServiceClient<tonic::transport::Channel>,
    upload: &Upload,
    request_id: String,
) -> Result<CertificationRecord, (Code, String)> {
    let messages = client::messages(
        Some(client::meta(&request_id, 1)),
        std::slice::from_ref(upload),
    );
    client
        .certify(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
        .map_err(|s| (s.code(), s.message().to_string()))
}

/// Waits (bounded) until `done` holds.
async fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PHASE_LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn certify_survives_an_s3_outage_without_losing_an_acknowledged_copy() {
    let mut s3 = S3Server::start();
    // The server reads S3 credentials from the AWS environment, like production; set it
    // before any thread exists (this file holds one test).
    for (key, value) in s3.env() {
        // SAFETY: no other thread runs yet in this test binary's only test.
        #[allow(unsafe_code)] // documented exception: the SAFETY note above
        unsafe {
            std::env::set_var(key, value)
        };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(run(&mut s3));
}

async fn run(s3: &mut S3Server) {
    let bucket = "saoy-outage";
    s3.create_bucket(bucket).await;
    let url = format!("s3://{bucket}/outage");
    let endpoint = s3.endpoint.clone();
    let server = support::server::start_with(|c| {
        c.store.url = url.clone();
        c.store.endpoint_url = endpoint;
        c.store.region = "us-east-1".into();
        c.store.max_attempts = 2;
        c.store.connect_timeout_ms = 500;
        c.store.attempt_timeout_ms = 5_000;
    })
    .await;
    assert!(
        server.app.store_description().contains(bucket),
        "{}",
        server.app.store_description()
    );
    let upload = Arc::new(jpeg());
    let mut client = CertificationServiceClient::new(server.channel("clerk").await);

    // Warm-up, sequential.
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let result = call(&mut client, &upload, format!("outage-warm-{i}")).await;
        assert!(result.is_ok(), "warm-up call {i}: {:?}", result.err());
        outcomes.push(Outcome {
            started: Phase::Before,
            ended: Phase::Before,
            result,
        });
    }

    // Concurrent load until told to stop.
    let current = Arc::new(AtomicUsize::new(Phase::Before as usize));
    let stop = Arc::new(AtomicBool::new(false));
    let ok_count = Arc::new([
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ]);
    let failed_down = Arc::new(AtomicUsize::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..WORKERS {
        let (mut client, upload) = (client.clone(), Arc::clone(&upload));
        let (current, stop) = (Arc::clone(&current), Arc::clone(&stop));
        let (ok_count, failed_down) = (Arc::clone(&ok_count), Arc::clone(&failed_down));
        workers.spawn(async move {
            let mut done = Vec::new();
            let mut i = 0;
            // Bounded: the main task stops the workers; the cap guards against a hang.
            while !stop.load(Ordering::SeqCst) && i < 500 {
                let started = phase(&current);
                let result = call(&mut client, &upload, format!("outage-{w}-{i}")).await;
                let ended = phase(&current);
                if result.is_ok() && started == ended {
                    ok_count[started as usize].fetch_add(1, Ordering::SeqCst);
                }
                if result.is_err() && started == Phase::Down && ended == Phase::Down {
                    failed_down.fetch_add(1, Ordering::SeqCst);
                }
                done.push(Outcome {
                    started,
                    ended,
                    result,
                });
                i += 1;
                if started == Phase::Down {
                    // Do not spin while the store is down.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            done
        });
    }

    wait_for("successful calls before the outage", || {
        ok_count[0].load(Ordering::SeqCst) >= 6
    })
    .await;
    current.store(Phase::Down as usize, Ordering::SeqCst);
    tokio::task::block_in_place(|| s3.stop());
    let down_since = Instant::now();
    wait_for("failed calls during the outage", || {
        failed_down.load(Ordering::SeqCst) >= 6 && down_since.elapsed() >= Duration::from_secs(3)
    })
    .await;
    tokio::task::block_in_place(|| s3.restart());
    current.store(Phase::After as usize, Ordering::SeqCst);
    wait_for("successful calls after the restart", || {
        ok_count[2].load(Ordering::SeqCst) >= 8
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    while let Some(done) = workers.join_next().await {
        outcomes.extend(done.expect("worker"));
    }
    // And sequential calls after the load: all succeed.
    for i in 0..3 {
        let result = call(&mut client, &upload, format!("outage-after-{i}")).await;
        assert!(
            result.is_ok(),
            "call {i} after the restart: {:?}",
            result.err()
        );
        outcomes.push(Outcome {
            started: Phase::After,
            ended: Phase::After,
            result,
        });
    }

    // Every failure is UNAVAILABLE; calls wholly inside the outage all failed; calls wholly
    // after it all succeeded.
    let mut tally = [[0usize; 2]; 3];
    for o in &outcomes {
        if let Err((code, message)) = &o.result {
            assert_eq!(
                *code,
                Code::Unavailable,
                "a failure other than UNAVAILABLE: {message}"
            );
            assert!(!message.is_empty());
        }
        if o.started == o.ended {
            tally[o.started as usize][usize::from(o.result.is_err())] += 1;
        }
        match (o.started, o.ended, &o.result) {
            (Phase::Down, Phase::Down, Ok(r)) => panic!("call succeeded while S3 was down: {r:?}"),
            (Phase::After, Phase::After, Err(e)) => panic!("call failed after the restart: {e:?}"),
            (Phase::Before, Phase::Before, Err(e)) => {
                panic!("call failed before the outage: {e:?}")
            }
            _ => {}
        }
    }
    eprintln!(
        "calls: before {} ok / {} failed; during the outage {} ok / {} failed; after {} ok / {} failed; {} straddling a transition",
        tally[0][0],
        tally[0][1],
        tally[1][0],
        tally[1][1],
        tally[2][0],
        tally[2][1],
        outcomes.len() - tally.iter().flatten().sum::<usize>()
    );

    // No acknowledged copy is lost: record, copy and hash as answered.
    let store: Arc<dyn ObjectStore> = Arc::new(
        S3Store::connect(S3Location::parse(&url).unwrap(), &s3.options())
            .await
            .unwrap(),
    );
    let registry = Registry::new(Arc::clone(&store));
    let acknowledged: Vec<&CertificationRecord> = outcomes
        .iter()
        .filter_map(|o| o.result.as_ref().ok())
        .collect();
    for r in &acknowledged {
        let stored = registry
            .get(&r.id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged copy {} lost its record", r.id));
        assert_eq!(
            (stored.number, &stored.copy_sha256),
            (r.number, &r.copy_sha256)
        );
        let copy = registry
            .copy_bytes(&r.id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged copy {} lost its bytes", r.id));
        assert_eq!(saoy::app::sha256_hex(&copy), r.copy_sha256);
        assert!(registry.original_bytes(&r.id, 0).await.unwrap().is_some());
    }

    // store check, with no grace: the server is idle, nothing is in flight.
    let options = CheckOptions {
        repair: false,
        grace: Duration::ZERO,
        ..CheckOptions::default()
    };
    let report = check_store(Arc::clone(&store), &options).await.unwrap();
    eprintln!("store check after the outage:\n{}", report.render());
    for kind in [
        FindingKind::DanglingRecord,
        FindingKind::DanglingIndex,
        FindingKind::IssuedWithoutRecord,
        FindingKind::Unreadable,
        FindingKind::VoidWithRecord,
    ] {
        assert!(report.of(kind).is_empty(), "{kind:?}: {}", report.render());
    }
    // What an outage can leave (objects a failed commit wrote before the record, a number
    // whose void could not be written, an issued copy whose last index write failed) never
    // concerns an acknowledged copy.
    for f in &report.findings {
        assert!(
            !acknowledged
                .iter()
                .any(|r| f.key.contains(&r.id) || f.detail.contains(&r.id)),
            "a finding about an acknowledged copy: {f:?}"
        );
    }
    let year = acknowledged[0].year as i32;
    let acknowledged_numbers: Vec<u64> = acknowledged.iter().map(|r| r.number).collect();
    for f in report.of(FindingKind::StaleReservation) {
        assert!(
            !acknowledged_numbers
                .iter()
                .any(|n| f.key.ends_with(&format!("{n:08}.json"))),
            "{f:?}"
        );
    }

    // Repair, then the store is clean and the book gapless: every number issued or void,
    // every acknowledged copy issued under its number.
    let repaired = check_store(
        Arc::clone(&store),
        &CheckOptions {
            repair: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    eprintln!("store check --repair:\n{}", repaired.render());
    let after = check_store(Arc::clone(&store), &options).await.unwrap();
    assert!(after.is_clean(), "{}", after.render());
    let entries = registry.book_entries(AGENCY, year).await.unwrap();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.number, i as u64 + 1, "gapless book");
        assert!(!matches!(e.state, EntryState::Reserved), "{e:?}");
    }
    for r in &acknowledged {
        let e = &entries[(r.number - 1) as usize];
        assert!(
            matches!(&e.state, EntryState::Issued { record_id, .. } if *record_id == r.id),
            "{e:?}"
        );
    }
    eprintln!(
        "{} acknowledged copies intact; book has {} entries",
        acknowledged.len(),
        entries.len()
    );
    drop(server);
}
