//! `[tsa]`: the time-stamping authorities signatures are time-stamped by (level B-T).

use std::path::PathBuf;

use serde::Deserialize;

/// Default time allowed for one TSA's answer, milliseconds.
pub const DEFAULT_TSA_TIMEOUT_MS: u64 = 5_000;
/// Default largest TSA answer read, bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Default room kept for a token in each signature's placeholder, bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 12 * 1024;

/// `[tsa]`: RFC 3161 time-stamping authorities, tried in order.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TsaConfig {
    /// `http://` URLs of the TSAs, tried in this order until one gives a usable token.
    /// Empty on the TEST PKI: the in-process test TSA (`http://{pki.listen}/tsa`).
    pub urls: Vec<String>,
    /// Time allowed for each TSA (connect, send, answer), milliseconds.
    pub timeout_ms: u64,
    /// Largest answer read from a TSA, bytes.
    pub max_response_bytes: usize,
    /// Room kept for the token in each signature, bytes (a larger token is refused).
    pub max_token_bytes: usize,
    /// When no TSA answers: sign B-B (no time-stamp, said in the warnings and the log)
    /// instead of failing the certification. Off unless set.
    pub allow_unstamped: bool,
    /// PEM files of the anchors TSA certificates must chain to; empty = `trust.anchors`.
    pub trust: Vec<PathBuf>,
}

impl Default for TsaConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            timeout_ms: DEFAULT_TSA_TIMEOUT_MS,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            allow_unstamped: false,
            trust: Vec::new(),
        }
    }
}

impl TsaConfig {
    /// Checks the fields; `Err((field, message))` names the one to fix. `fallback_url` is
    /// the in-process test TSA's, used when `urls` is empty on the TEST PKI.
    pub fn validate(
        &self,
        needed: bool,
        fallback_url: Option<&str>,
    ) -> Result<(), (&'static str, String)> {
        for u in &self.urls {
            if !u.starts_with("http://") || u.parse::<http::Uri>().is_err() {
                return Err((
                    "tsa.urls",
                    format!("{u:?} is not an http://host[:port]/path URL"),
                ));
            }
        }
        if needed && self.urls.is_empty() && fallback_url.is_none() {
            return Err((
                "tsa.urls",
                "signing.level B-T needs at least one TSA: list [tsa] urls, or set signing.level = \"B-B\"".into(),
            ));
        }
        if self.timeout_ms == 0 || self.timeout_ms > 120_000 {
            return Err(("tsa.timeout_ms", "between 1 and 120000 ms".into()));
        }
        if self.max_response_bytes < 1024 || self.max_token_bytes < 1024 {
            return Err((
                "tsa.max_response_bytes",
                "tsa.max_response_bytes and tsa.max_token_bytes are at least 1024".into(),
            ));
        }
        Ok(())
    }

    /// The URLs tried: the configured ones, else `fallback_url` (the test TSA).
    pub fn effective_urls(&self, fallback_url: Option<&str>) -> Vec<String> {
        match (self.urls.is_empty(), fallback_url) {
            (true, Some(u)) => vec![u.to_string()],
            _ => self.urls.clone(),
        }
    }
}
