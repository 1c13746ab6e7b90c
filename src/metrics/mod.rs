//! Observability: the Prometheus metrics of one process (one [`Metrics`] value, created
//! when the app opens and shared by `Arc`), their own HTTP listener ([`serve`], `GET
//! /metrics`, never the public one), the object-store decorator that counts operations
//! ([`MeteredStore`]), the request id of a call ([`request_id`]) and the `[metrics]` and
//! `[log]` configuration. Callers record through plain methods; no `prometheus_client`
//! type appears outside this module.
//!
//! Files: `config` (`[metrics]`, `[log]`), `store` (the decorator), `listener` (the HTTP
//! listener), `request_id` (validation, making one, the task-local of a call).

mod config;
mod listener;
pub mod request_id;
mod store;

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use config::{DEFAULT_METRICS_LISTEN, LogConfig, LogFormat, MetricsConfig};
pub use listener::{MetricsServer, bind, serve};
pub use store::MeteredStore;

/// A stage of one certification, timed by `saoy_certify_stage_duration_seconds`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum Stage {
    /// Sniffing, decoding and checking the scans (OCR included).
    Digitise,
    /// Building the copy's PDF (pages, stamp, certification page, QR).
    Assemble,
    /// The signatures (agency, then certifier), together.
    Sign,
    /// Verifying the freshly signed copy before it is stored.
    Verify,
    /// Writing the copy, originals, record and indexes.
    Store,
}

/// What a verification was of, the `source` label of `saoy_verify_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum VerifySource {
    /// Bytes a caller sent.
    Upload,
    /// A stored copy read back.
    Stored,
    /// A copy just signed here, before it is stored.
    Issued,
}

/// The overall indication of a verification, the `outcome` label of `saoy_verify_total`.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum VerifyOutcome {
    /// PASSED.
    Passed,
    /// INDETERMINATE.
    Indeterminate,
    /// FAILED.
    Failed,
}

/// A store operation, the `op` label of the store metrics.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum StoreOp {
    /// `put`.
    Put,
    /// `put_if_absent`.
    PutIfAbsent,
    /// `get`.
    Get,
    /// `list`.
    List,
    /// `delete`.
    Delete,
}

/// Label values: the names in lower case.
macro_rules! label_names {
    ($t:ty { $($v:ident => $n:literal),* $(,)? }) => {
        impl $t {
            /// The label value.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$v => $n,)*
                }
            }
        }

        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                EncodeLabelValue::encode(&self.name(), encoder)
            }
        }
    };
}

label_names!(Stage { Digitise => "digitise", Assemble => "assemble", Sign => "sign", Verify => "verify", Store => "store" });
label_names!(VerifySource { Upload => "upload", Stored => "stored", Issued => "issued" });
label_names!(VerifyOutcome { Passed => "passed", Indeterminate => "indeterminate", Failed => "failed" });
label_names!(StoreOp { Put => "put", PutIfAbsent => "put_if_absent", Get => "get", List => "list", Delete => "delete" });

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    method: String,
    code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    stage: Stage,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VerifyLabels {
    source: VerifySource,
    outcome: VerifyOutcome,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabels {
    op: StoreOp,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreErrorLabels {
    op: StoreOp,
    kind: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Latency buckets: 0.5 ms to ~16 s, doubling.
fn latency() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// The metric families of one process and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    rpc_requests: Family<RpcLabels, Counter>,
    rpc_duration: Histograms<RpcLabels>,
    rpc_in_flight: Gauge,
    stage_duration: Histograms<StageLabels>,
    signs: Family<OutcomeLabels, Counter>,
    verifies: Family<VerifyLabels, Counter>,
    store_ops: Family<StoreLabels, Counter>,
    store_errors: Family<StoreErrorLabels, Counter>,
    book_retries: Counter,
    store_reachable: Gauge,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Every family registered, all at zero.
    pub fn new() -> Self {
        let mut m = Self {
            registry: Registry::default(),
            rpc_requests: Family::default(),
            rpc_duration: Family::new_with_constructor(latency),
            rpc_in_flight: Gauge::default(),
            stage_duration: Family::new_with_constructor(latency),
            signs: Family::default(),
            verifies: Family::default(),
            store_ops: Family::default(),
            store_errors: Family::default(),
            book_retries: Counter::default(),
            store_reachable: Gauge::default(),
        };
        m.store_reachable.set(1);
        let mut r = Registry::default();
        r.register(
            "saoy_grpc_requests",
            "gRPC calls answered, by method and gRPC code",
            m.rpc_requests.clone(),
        );
        r.register(
            "saoy_grpc_request_duration_seconds",
            "gRPC call latency, from the request's headers to the end of the answer",
            m.rpc_duration.clone(),
        );
        r.register(
            "saoy_grpc_streams_in_flight",
            "gRPC calls (HTTP/2 streams) being answered now, streamed answers until their end",
            m.rpc_in_flight.clone(),
        );
        r.register(
            "saoy_certify_stage_duration_seconds",
            "Time of each stage of a certification (digitise, assemble, sign, verify, store)",
            m.stage_duration.clone(),
        );
        r.register(
            "saoy_sign_operations",
            "Signatures made, by outcome (ok, error)",
            m.signs.clone(),
        );
        r.register(
            "saoy_verify_operations",
            "Verifications, by what was verified and the overall indication",
            m.verifies.clone(),
        );
        r.register(
            "saoy_store_operations",
            "Object store operations, by operation",
            m.store_ops.clone(),
        );
        r.register(
            "saoy_store_errors",
            "Object store operations that failed, by operation and error kind",
            m.store_errors.clone(),
        );
        r.register(
            "saoy_book_allocation_retries",
            "Certification book numbers found taken by another reserver (a claim lost, the next number tried)",
            m.book_retries.clone(),
        );
        r.register(
            "saoy_store_reachable",
            "1 while the store answers the health probe, 0 while it does not",
            m.store_reachable.clone(),
        );
        m.registry = r;
        m
    }

    /// The OpenMetrics text of every family.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// One gRPC call of `method` (`Service/Method`) answered with `code` (its gRPC name,
    /// e.g. `OK`, `INVALID_ARGUMENT`) after `elapsed`.
    pub fn rpc_done(&self, method: &str, code: &str, elapsed: Duration) {
        let labels = RpcLabels {
            method: method.to_string(),
            code: code.to_string(),
        };
        self.rpc_requests.get_or_create(&labels).inc();
        self.rpc_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    /// A call started (`+1`) or ended (`-1`).
    pub fn rpc_in_flight(&self, delta: i64) {
        self.rpc_in_flight.inc_by(delta);
    }

    /// One certify stage took `elapsed`.
    pub fn stage(&self, stage: Stage, elapsed: Duration) {
        self.stage_duration
            .get_or_create(&StageLabels { stage })
            .observe(elapsed.as_secs_f64());
    }

    /// One signature was made (`ok`) or failed.
    pub fn signed(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.signs
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// One verification of `source` ended with `outcome`.
    pub fn verified(&self, source: VerifySource, outcome: VerifyOutcome) {
        self.verifies
            .get_or_create(&VerifyLabels { source, outcome })
            .inc();
    }

    /// One store operation; `error` names the kind of its failure, if it failed.
    pub fn store_op(&self, op: StoreOp, error: Option<&str>) {
        self.store_ops.get_or_create(&StoreLabels { op }).inc();
        if let Some(kind) = error {
            self.store_errors
                .get_or_create(&StoreErrorLabels {
                    op,
                    kind: kind.to_string(),
                })
                .inc();
        }
    }

    /// A book number was found taken.
    pub fn book_retry(&self) {
        self.book_retries.inc();
    }

    /// The store answered the health probe (`true`) or did not.
    pub fn store_reachable(&self, up: bool) {
        self.store_reachable.set(i64::from(up));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_show_in_the_text() {
        let m = Metrics::new();
        m.rpc_done(
            "saoy.v1.VerificationService/Verify",
            "INVALID_ARGUMENT",
            Duration::from_millis(3),
        );
        m.stage(Stage::Sign, Duration::from_millis(2));
        m.verified(VerifySource::Upload, VerifyOutcome::Passed);
        m.store_op(StoreOp::Get, Some("unavailable"));
        m.book_retry();
        let text = m.encode();
        assert!(text.contains(
            "saoy_grpc_requests_total{method=\"saoy.v1.VerificationService/Verify\",code=\"INVALID_ARGUMENT\"} 1"
        ), "{text}");
        assert!(
            text.contains("saoy_certify_stage_duration_seconds_count{stage=\"sign\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("saoy_verify_operations_total{source=\"upload\",outcome=\"passed\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("saoy_store_errors_total{op=\"get\",kind=\"unavailable\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("saoy_book_allocation_retries_total 1"),
            "{text}"
        );
        assert!(text.contains("saoy_store_reachable 1"), "{text}");
    }
}
