//! The load harness (`benches/load.rs`) at tiny scale: 2 clients × 3 calls of every scenario
//! against 2 replicas on the local store and on S3, beside the baseline. Checks the report's
//! structure — every call accounted for (ok + errors by code = calls), percentiles in order,
//! the baseline and its ratio beside each step, the JSON and the plot written — never a
//! timing.

use crate::support::load::{self, Options, Scenario, StoreKind};

#[test]
fn the_load_harness_accounts_for_every_call_and_writes_its_report() {
    let out = tempfile::tempdir().expect("temp dir");
    let options = Options {
        scenarios: vec![Scenario::Certify, Scenario::Verify, Scenario::Read],
        concurrency: vec![2],
        calls: Some(3),
        seconds: None,
        replicas: vec![2],
        stores: vec![StoreKind::Local, StoreKind::S3],
        baseline: true,
        s3_raw: false,
        copies: 2,
        out: out.path().to_path_buf(),
    };
    let report = load::run(&options);
    assert_eq!(report.steps.len(), 2 * 3, "one step per store and scenario");
    for step in &report.steps {
        let what = load::table_line(step);
        assert_eq!(step.replicas, 2);
        assert_eq!(step.concurrency, 2);
        let baseline = step
            .baseline
            .as_ref()
            .expect("a baseline beside every step");
        for m in [&step.saoy, baseline] {
            assert_eq!(m.calls, 3, "{what}");
            let failed: usize = m.errors.values().sum();
            assert_eq!(m.ok + failed, m.calls, "every call counted once: {what}");
            assert!(m.errors.is_empty(), "no call fails at this scale: {what}");
            let l = &m.latency_ms;
            assert!(
                0.0 < l.p50 && l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.max,
                "{what}"
            );
            assert!(m.throughput_per_s > 0.0 && m.elapsed_s > 0.0, "{what}");
            assert!(m.resources.rss_mib > 0.0, "{what}");
        }
        assert!(step.ratio.is_some(), "{what}");
        assert_eq!(
            step.saoy.resources.s3_rss_mib.is_some(),
            step.store == StoreKind::S3,
            "s3s-fs is sampled on S3 only: {what}"
        );
    }
    assert_eq!(report.headlines.len(), 2);
    assert!(
        report
            .headlines
            .iter()
            .all(|h| h.verify_p50_ms.is_some() && h.at_top.len() == 3)
    );

    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.path().join("report.json")).expect("report.json written"),
    )
    .expect("report.json is JSON");
    let steps = json["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 6);
    for step in steps {
        assert!(step["saoy"]["errors"].is_object(), "errors by code: {step}");
        assert!(
            step["baseline"]["errors"].is_object(),
            "errors by code: {step}"
        );
        assert!(step["saoy"]["latency_ms"]["p99"].is_number());
        assert!(step["ratio"]["throughput"].is_number());
    }
    assert!(json["machine"]["load_before"].is_array());
    let svg = std::fs::read_to_string(out.path().join("latency.svg")).expect("latency.svg");
    assert!(
        svg.starts_with("<svg") && svg.contains("certify latency (ms)"),
        "an SVG plot"
    );
}
