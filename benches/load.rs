//! The load harness: N concurrent clients certifying, verifying (a 1-page copy's bytes) and
//! reading (GetCopy) through gRPC over mutual TLS against 1..3 real in-process saoy servers
//! on the local store and on S3 (s3s-fs), each step beside a baseline server that only
//! receives and discards the same bytes over the same TLS and gRPC stack. Reports
//! throughput, p50/p90/p99/max, errors by gRPC code, server CPU and process RSS; writes
//! `report.json` and `latency.svg` and prints a table. The logic is
//! `tests/support/load.rs` (its module documentation says what each figure includes).
//!
//! `cargo bench --bench load` (needs `s3s-fs` for the S3 figures, as the tests do). The
//! default run (local and S3, 1 replica, 1/8/64 clients, at least 40 calls a step) takes
//! well under two minutes on two cores. Environment variables:
//!
//! - `SAOY_LOAD_FULL=1`: the full figures: replicas 1,2,3, 500 calls a step, 64
//!   distinct copies (each other variable still overrides).
//! - `SAOY_LOAD_SCENARIOS`: a list of `certify`, `verify`, `read` (default all three).
//! - `SAOY_LOAD_CONCURRENCY`: clients per step, e.g. `1,8,64` (the default).
//! - `SAOY_LOAD_CALLS`: calls per step (default 3 per client, at least 40).
//! - `SAOY_LOAD_SECS`: seconds per step instead of a number of calls.
//! - `SAOY_LOAD_REPLICAS`: e.g. `1,2,3` (default `1`): servers on one store.
//! - `SAOY_LOAD_STORES`: `local`, `s3` or both (default `local,s3`).
//! - `SAOY_LOAD_COPIES`: distinct copies verified and read round-robin (default 16).
//! - `SAOY_LOAD_BASELINE=0`: leave the baseline out.
//! - `SAOY_LOAD_S3_RAW=1`: on S3, talk to s3s-fs directly instead of through the test proxy
//!   that makes its conditional PUTs atomic (what the proxy costs; one replica only).
//! - `SAOY_LOAD_OUT`: the directory of `report.json` and `latency.svg` (default
//!   `target/load`).

#[path = "../tests/support/mod.rs"]
mod common;

use std::path::PathBuf;

fn main() {
    // CARGO_TARGET_TMPDIR is target/tmp: the report goes beside it, in target/load.
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let out = tmp.parent().map_or(tmp.clone(), |t| t.join("load"));
    let options = common::load::Options::from_env(out);
    let report = common::load::run(&options);
    println!();
    println!(
        "load average {:?} before, {:?} after, {} cores",
        report.machine.load_before, report.machine.load_after, report.machine.cores
    );
    for h in &report.headlines {
        let base = format!("{} store, {} replica(s)", h.store.name(), h.replicas);
        if let Some((clients, p50)) = h.verify_p50_ms {
            println!("{base}: Verify p50 at {clients} client(s) {p50:.2} ms");
        }
        for t in &h.at_top {
            let ratio = t.ratio.as_ref().map_or(String::new(), |r| {
                format!(
                    " (baseline: {:.1}x the throughput, saoy p99 {:.1}x the baseline's)",
                    r.throughput, r.p99
                )
            });
            println!(
                "{base}: {} at {} clients {:.1} calls/s, p99 {:.1} ms{ratio}",
                t.scenario.name(),
                t.concurrency,
                t.throughput_per_s,
                t.p99_ms
            );
        }
    }
    println!(
        "report: {}, plot: {}",
        options.out.join("report.json").display(),
        options.out.join("latency.svg").display()
    );
}
