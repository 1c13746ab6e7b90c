//! `[http]`: the public HTTP listener (the verification page the QR code leads to). It
//! imports nothing of saoy, so `config` can hold it without an arrow back.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use serde::Deserialize;

/// Default address of the HTTP listener.
pub const DEFAULT_HTTP_LISTEN: ([u8; 4], u16) = ([127, 0, 0, 1], 50080);

/// The public HTTP listener: plain HTTP for a reverse proxy, or TLS with a configured
/// certificate; limits per client address.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Serve the HTTP listener at all (`saoy serve` starts it beside gRPC by default).
    pub enabled: bool,
    /// Listen address (`saoy serve --http-listen ADDR`).
    pub listen: SocketAddr,
    /// The address the public reaches this listener at, e.g. `https://saoy.tanlap.gov.vn`;
    /// the QR code of every copy encodes `{public_base_url}/c/{id}`. Empty: `http://{listen}`.
    pub public_base_url: String,
    /// PEM file: the certificate (then its CAs) for serving HTTPS itself; empty = plain
    /// HTTP (behind a reverse proxy that terminates TLS).
    pub tls_cert_file: PathBuf,
    /// PEM file: the private key of `tls_cert_file`.
    pub tls_key_file: PathBuf,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed; from any other
    /// peer the header is ignored and the peer's own address is the client's.
    pub trusted_proxies: Vec<IpAddr>,
    /// Largest PDF accepted for verification, bytes (larger: 413 before it is read).
    pub max_upload_bytes: u64,
    /// Uploads being verified at once, for all clients together (more: 503).
    pub max_concurrent_uploads: u32,
    /// Requests per second one client address may make (burst: twice as many).
    pub requests_per_second: u32,
    /// Uploads (verifications) per minute one client address may make.
    pub uploads_per_minute: u32,
    /// Time allowed to receive one upload, milliseconds.
    pub upload_timeout_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(DEFAULT_HTTP_LISTEN),
            public_base_url: String::new(),
            tls_cert_file: PathBuf::new(),
            tls_key_file: PathBuf::new(),
            trusted_proxies: Vec::new(),
            max_upload_bytes: 32 << 20,
            max_concurrent_uploads: 4,
            requests_per_second: 10,
            uploads_per_minute: 20,
            upload_timeout_ms: 60_000,
        }
    }
}

/// A field of `[http]` with a value saoy cannot use: the dotted field and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfigProblem {
    /// Dotted field name, e.g. `http.public_base_url`.
    pub field: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl HttpConfig {
    /// The base URL the QR codes carry: `public_base_url` without a trailing `/`, or
    /// `http://{listen}` when it is empty.
    pub fn public_base_url(&self) -> String {
        match self.public_base_url.trim().trim_end_matches('/') {
            "" => format!("http://{}", self.listen),
            url => url.to_string(),
        }
    }

    /// Whether the listener serves TLS itself.
    pub fn serves_tls(&self) -> bool {
        !self.tls_cert_file.as_os_str().is_empty()
    }

    /// Checks the fields; the problem names the field.
    pub fn validate(&self) -> Result<(), HttpConfigProblem> {
        let url = self.public_base_url.trim();
        if !url.is_empty() {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            let host = url.split_once("://").map_or("", |(_, rest)| rest);
            if !scheme_ok || host.is_empty() || url.contains(['?', '#', ' ', '"', '<', '>']) {
                return Err(HttpConfigProblem {
                    field: "http.public_base_url",
                    message: format!(
                        "{url:?} is not a base URL like https://saoy.example.gov.vn (http or https, no query)"
                    ),
                });
            }
        }
        if self.serves_tls() == self.tls_key_file.as_os_str().is_empty() {
            return Err(HttpConfigProblem {
                field: "http.tls_key_file",
                message: "set both http.tls_cert_file and http.tls_key_file, or neither".into(),
            });
        }
        for (field, path) in [
            ("http.tls_cert_file", &self.tls_cert_file),
            ("http.tls_key_file", &self.tls_key_file),
        ] {
            if !path.as_os_str().is_empty() && !path.is_file() {
                return Err(HttpConfigProblem {
                    field,
                    message: format!("file {} not found", path.display()),
                });
            }
        }
        let limits = [
            ("http.max_upload_bytes", self.max_upload_bytes),
            (
                "http.max_concurrent_uploads",
                u64::from(self.max_concurrent_uploads),
            ),
            (
                "http.requests_per_second",
                u64::from(self.requests_per_second),
            ),
            (
                "http.uploads_per_minute",
                u64::from(self.uploads_per_minute),
            ),
            ("http.upload_timeout_ms", self.upload_timeout_ms),
        ];
        for (field, value) in limits {
            if value == 0 {
                return Err(HttpConfigProblem {
                    field,
                    message: "must be above 0".into(),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_defaults_to_the_listener() {
        let mut c = HttpConfig::default();
        assert_eq!(c.public_base_url(), "http://127.0.0.1:50080");
        c.public_base_url = "https://saoy.example.gov.vn/".into();
        assert_eq!(c.public_base_url(), "https://saoy.example.gov.vn");
        assert!(c.validate().is_ok());
        c.public_base_url = "saoy.example.gov.vn".into();
        assert_eq!(c.validate().unwrap_err().field, "http.public_base_url");
    }

    #[test]
    fn limits_and_tls_pairs_are_checked() {
        let mut c = HttpConfig {
            uploads_per_minute: 0,
            ..HttpConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "http.uploads_per_minute");
        c.uploads_per_minute = 1;
        c.tls_cert_file = "cert.pem".into();
        assert_eq!(c.validate().unwrap_err().field, "http.tls_key_file");
    }
}
