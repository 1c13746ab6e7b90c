//! The soak run: mixed load (Certify, Verify of a copy's bytes, GetCopy) against a real
//! in-process saoy server over mutual TLS on the local store, for `SAOY_SOAK_SECS` seconds
//! (default 600), with `SAOY_SOAK_CLIENTS` concurrent clients (default 8). Every 10 s it
//! samples the process's resident memory and open file descriptors (server and clients
//! together: they share the process) and the calls so far by outcome; prints the curve and
//! writes it to `target/soak/curve.json`. Flat RSS and descriptors over the run are the
//! result to look for; any failed call is counted by its gRPC code, never dropped.
//!
//! `cargo bench --bench soak`

#[path = "../tests/support/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::client::{self, Upload};
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::verification_service_client::VerificationServiceClient;
use saoy::proto::{GetCopyRequest, VerifyRequest, verify_request::Source};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Resident memory (KiB) and open descriptors of this process.
fn sample() -> (u64, usize) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
    (rss, fds)
}

#[derive(Default)]
struct Counts {
    ok: AtomicU64,
    failed: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl Counts {
    fn record<T>(&self, r: Result<T, tonic::Status>) {
        match r {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(s) => {
                let mut f = self.failed.lock().unwrap();
                *f.entry(format!("{:?}", s.code())).or_default() += 1;
            }
        }
    }
}

fn main() {
    let secs = env("SAOY_SOAK_SECS", 600);
    let clients = env("SAOY_SOAK_CLIENTS", 8) as usize;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let server = common::server::start_with(|c| {
            c.server.requests_per_second = 1_000_000;
            c.server.max_concurrent_calls = 100_000;
        })
        .await;
        let url = server.url();
        let upload = Arc::new(Upload {
            name: "sample-scan.jpg".into(),
            media_type: "image/jpeg".into(),
            data: std::fs::read(common::root().join("tests/data/sample-scan.jpg")).unwrap(),
        });
        let channel = common::client::channel(&url, "clerk").await;
        let first = CertificationServiceClient::new(channel.clone())
            .certify(futures::stream::iter(client::messages(
                Some(client::meta("soak-first", 1)),
                std::slice::from_ref(&upload),
            )))
            .await
            .expect("first copy")
            .into_inner();
        let (_, copy) = client::get_copy(&url, &first.id).await.expect("copy");
        let copy = Arc::new(copy);
        let counts = Arc::new(Counts::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for worker in 0..clients {
            let (channel, counts, stop, upload, copy, id) = (
                common::client::channel(&url, "clerk").await,
                Arc::clone(&counts),
                Arc::clone(&stop),
                Arc::clone(&upload),
                Arc::clone(&copy),
                first.id.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match i % 9 {
                        0 => counts.record(
                            CertificationServiceClient::new(channel.clone())
                                .certify(futures::stream::iter(client::messages(
                                    Some(client::meta(&format!("soak-{worker}-{i}"), 1)),
                                    std::slice::from_ref(&upload),
                                )))
                                .await,
                        ),
                        1..=4 => counts.record(
                            VerificationServiceClient::new(channel.clone())
                                .verify(futures::stream::iter(
                                    copy.chunks(1 << 20)
                                        .map(|c| VerifyRequest {
                                            source: Some(Source::Chunk(c.to_vec())),
                                        })
                                        .collect::<Vec<_>>(),
                                ))
                                .await,
                        ),
                        _ => {
                            let r = RecordServiceClient::new(channel.clone())
                                .get_copy(GetCopyRequest { id: id.clone() })
                                .await;
                            match r {
                                Ok(s) => {
                                    let mut s = s.into_inner();
                                    let mut r = Ok(());
                                    loop {
                                        match s.message().await {
                                            Ok(Some(_)) => {}
                                            Ok(None) => break,
                                            Err(e) => {
                                                r = Err(e);
                                                break;
                                            }
                                        }
                                    }
                                    counts.record(r);
                                }
                                Err(e) => counts.record::<()>(Err(e)),
                            }
                        }
                    }
                    i += 1;
                }
            }));
        }
        let started = Instant::now();
        let mut curve = Vec::new();
        println!("soak: {clients} clients, {secs} s; t, RSS MiB, open fds, calls ok, failed");
        loop {
            let (rss, fds) = sample();
            let ok = counts.ok.load(Ordering::Relaxed);
            let failed: u64 = counts.failed.lock().unwrap().values().sum();
            let t = started.elapsed().as_secs();
            println!("{t:>5} s  {:>7.1}  {fds:>5}  {ok:>8}  {failed}", rss as f64 / 1024.0);
            curve.push(serde_json::json!({"t_s": t, "rss_kib": rss, "fds": fds, "ok": ok, "failed": failed}));
            if t >= secs {
                break;
            }
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let failed = counts.failed.lock().unwrap().clone();
        let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .map(|t| t.join("soak"))
            .unwrap_or_default();
        let _ = std::fs::create_dir_all(&out);
        let report = serde_json::json!({
            "clients": clients,
            "secs": secs,
            "ok": counts.ok.load(Ordering::Relaxed),
            "failed_by_code": failed,
            "curve": curve,
        });
        let _ = std::fs::write(out.join("curve.json"), report.to_string());
        println!("failed by code: {failed:?}; curve in {}", out.join("curve.json").display());
    });
}
