//! `[metrics]` (the metrics listener and the store health probe) and `[log]` (the log
//! format). It imports nothing of saoy, so `config` can hold it without an arrow back.

use std::net::SocketAddr;

use serde::Deserialize;

/// Default address of the metrics listener.
pub const DEFAULT_METRICS_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 50091);

/// The metrics listener (`GET /metrics`, Prometheus/OpenMetrics text) and the probe that
/// turns the gRPC health status NOT_SERVING while the store cannot be reached.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Serve the metrics listener at all (`saoy serve` starts it by default).
    pub enabled: bool,
    /// Listen address of the metrics listener (`saoy serve --metrics-listen ADDR`); never
    /// the public HTTP listener's. Keep it on loopback or a private network: it is not
    /// authenticated.
    pub listen: SocketAddr,
    /// Milliseconds between looks at the store by the health probe (a `get` of one key).
    pub store_probe_interval_ms: u64,
    /// Milliseconds the probe waits for the store before it counts as unreachable.
    pub store_probe_timeout_ms: u64,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(DEFAULT_METRICS_LISTEN),
            store_probe_interval_ms: 5_000,
            store_probe_timeout_ms: 2_000,
        }
    }
}

/// How log lines are written (to standard error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One line of text per event (colours on a terminal).
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields`, `target`, `span` and
    /// `spans` (the call's `request_id` and `method` among them).
    Json,
}

/// `[log]`: the format of log lines; the level comes from `RUST_LOG` (default `info`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `"text"` (default) or `"json"`.
    pub format: LogFormat,
}
