//! One typed configuration: a TOML file (see `deploy/saoy.example.toml`, every field
//! commented there) with named defaults, a few environment overrides, and a validation pass
//! at start whose errors name the field to fix.
//!
//! With no file at all, saoy runs on the TEST PKI in `certs-test/` and says so loudly.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::store::{Location, S3Options};

pub mod agency;
pub mod fees;
pub use agency::{AgencyConfig, KeyPlace, SignerConfig};
pub use fees::FeeSchedule;

/// Errors reading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// File that failed.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path}: {message}")]
    Parse {
        /// File that failed.
        path: String,
        /// What the parser said (names the field and line).
        message: String,
    },
    /// A field has a value saoy cannot use.
    #[error("config field `{field}`: {message}")]
    Invalid {
        /// Dotted field name, e.g. `signers.agency.key_file`.
        field: &'static str,
        /// What is wrong and how to fix it.
        message: String,
    },
}

/// The whole configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// gRPC listen address.
    pub listen: SocketAddr,
    /// Directory of the embedded local store (used when `store.url` is empty).
    pub data_dir: PathBuf,
    /// Where copies and records are kept (local directory or S3).
    pub store: StoreConfig,
    /// The agencies this deployment certifies for (`[[agencies]]`), each with its signer
    /// and certifiers. Empty with `agencies_dir` set: only the directory's.
    pub agencies: Vec<AgencyConfig>,
    /// Directory of agency files (`*.toml`, one `AgencyConfig` each), re-read while the
    /// service runs (with the signers' certificate and key files); empty = none.
    pub agencies_dir: PathBuf,
    /// Seconds between looks at the agency files and their signers' certificate and key
    /// files for changes (renewed certificates are picked up without a restart); 0 = only
    /// on SIGHUP.
    pub agencies_reload_secs: u64,
    /// Earlier releases' single agency (`[agency]`); read into `agencies`.
    #[serde(rename = "agency")]
    pub legacy_agency: Option<AgencyConfig>,
    /// Earlier releases' signers (`[signers]`); read into `agencies`.
    #[serde(rename = "signers")]
    pub legacy_signers: Option<SignersConfig>,
    /// Copies awaiting their certifier's signature.
    pub pending: PendingConfig,
    /// The fee schedule (lệ phí chứng thực) recorded with each copy.
    pub fees: FeeSchedule,
    /// Trust anchors and revocation data for verification.
    pub trust: TrustConfig,
    /// Size and resource limits.
    pub limits: Limits,
    /// TLS, client certificates and per-caller limits of the gRPC listener.
    pub server: ServerConfig,
    /// How often the audit log seals signed checkpoints, and its group-commit size.
    pub audit: crate::audit::AuditConfig,
    /// The public HTTP listener (verification page, `public_base_url` of the QR codes).
    pub http: crate::web::HttpConfig,
    /// The metrics listener (`GET /metrics`) and the store health probe.
    pub metrics: crate::metrics::MetricsConfig,
    /// The format of log lines (`text` or `json`).
    pub log: crate::metrics::LogConfig,
    /// The PAdES level copies are signed at (`[signing] level`).
    pub signing: crate::sign::SigningConfig,
    /// The time-stamping authorities (level B-T and above).
    pub tsa: crate::tsa::TsaConfig,
    /// Where the in-process TEST PKI services listen (TEST PKI only).
    pub pki: crate::pkiserve::PkiConfig,
    /// Set by the loader when the built-in TEST PKI is in use.
    #[serde(skip)]
    pub using_test_pki: bool,
}

/// The single-agency form of earlier releases: `[signers]` beside `[agency]`. Still read:
/// the two become the one entry of `agencies`.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SignersConfig {
    /// The agency's organisation certificate: signs every copy.
    pub agency: SignerConfig,
    /// The certifier's personal certificate: second signature.
    pub certifier: Option<SignerConfig>,
}

/// Pending certifications: copies whose certifier signs on their own device.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PendingConfig {
    /// A copy not signed by its certifier within this many seconds is voided in the book
    /// (with the reason) and can no longer be completed.
    pub timeout_secs: u64,
    /// Seconds between looks for expired pending copies on each replica.
    pub sweep_interval_secs: u64,
}

impl Default for PendingConfig {
    fn default() -> Self {
        Self {
            timeout_secs: 24 * 3600,
            sweep_interval_secs: 60,
        }
    }
}

/// What verification trusts: the `anchors` files (read at start) plus every certificate
/// file in `anchors_dir` (re-read while the service runs); at least one of the two.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustConfig {
    /// PEM (or DER) files of trust anchors, read at start.
    pub anchors: Vec<PathBuf>,
    /// Directory of trust anchor files (`*.pem`, `*.crt`, `*.cer`, `*.der`, each with an
    /// optional `NAME.reason` sidecar), re-read when its files change; empty = none.
    pub anchors_dir: PathBuf,
    /// Seconds between looks at `anchors_dir` for changed files; 0 = only on SIGHUP.
    pub reload_interval_secs: u64,
    /// CRL files (DER or PEM) used for revocation checks.
    pub crls: Vec<PathBuf>,
}

/// Default seconds between looks at `trust.anchors_dir`.
pub const DEFAULT_TRUST_RELOAD_SECS: u64 = 30;

/// Largest `trust.reload_interval_secs` (one day).
pub const MAX_TRUST_RELOAD_SECS: u64 = 86_400;

impl Default for TrustConfig {
    fn default() -> Self {
        Self {
            anchors: Vec::new(),
            anchors_dir: PathBuf::new(),
            reload_interval_secs: DEFAULT_TRUST_RELOAD_SECS,
            crls: Vec::new(),
        }
    }
}

impl TrustConfig {
    /// The anchors directory, when one is configured.
    pub fn anchors_dir(&self) -> Option<&Path> {
        Some(self.anchors_dir.as_path()).filter(|d| !d.as_os_str().is_empty())
    }

    /// How often to look at the anchors directory; `None` = only on SIGHUP.
    pub fn reload_interval(&self) -> Option<Duration> {
        (self.reload_interval_secs > 0).then(|| Duration::from_secs(self.reload_interval_secs))
    }
}

/// The object store. Credentials are never read from this file: S3 access keys come
/// from the AWS environment (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`) or the AWS
/// config files, as with every AWS tool.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// `s3://BUCKET[/prefix]`, or a directory path; empty = the local directory `data_dir`.
    pub url: String,
    /// S3 endpoint, e.g. `http://127.0.0.1:9000`; empty = `AWS_ENDPOINT_URL`, else AWS.
    pub endpoint_url: String,
    /// S3 region; empty = `AWS_REGION`, else `us-east-1`.
    pub region: String,
    /// Path-style S3 addressing (`endpoint/bucket/key`), needed by most self-hosted servers.
    pub force_path_style: bool,
    /// This process is the only one using the store: accept a store that does not honour
    /// conditional writes (the book is then kept safe by this process's own lock only).
    pub single_replica: bool,
    /// Attempts per S3 operation, the first included (retries back off exponentially).
    pub max_attempts: u32,
    /// Time allowed to open a connection to S3, milliseconds.
    pub connect_timeout_ms: u64,
    /// Time allowed for one attempt of one S3 operation, milliseconds.
    pub attempt_timeout_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        let s3 = S3Options::default();
        Self {
            url: String::new(),
            endpoint_url: String::new(),
            region: String::new(),
            force_path_style: s3.force_path_style,
            single_replica: false,
            max_attempts: s3.max_attempts,
            connect_timeout_ms: millis(s3.connect_timeout),
            attempt_timeout_ms: millis(s3.attempt_timeout),
        }
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl StoreConfig {
    /// The store location: `url`, or the local `data_dir` when `url` is empty.
    pub fn location(&self, data_dir: &Path) -> Result<Location, ConfigError> {
        if self.url.trim().is_empty() {
            return Ok(Location::Local(data_dir.to_path_buf()));
        }
        Location::parse(self.url.trim()).map_err(|e| ConfigError::Invalid {
            field: "store.url",
            message: e.to_string(),
        })
    }

    /// The S3 client options (credentials stay with the AWS environment).
    pub fn s3_options(&self) -> S3Options {
        let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        S3Options {
            endpoint_url: non_empty(&self.endpoint_url),
            region: non_empty(&self.region),
            force_path_style: self.force_path_style,
            credentials: None,
            max_attempts: self.max_attempts,
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            attempt_timeout: Duration::from_millis(self.attempt_timeout_ms),
        }
    }
}

/// The gRPC listener: TLS with client certificates by default.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// PEM file: the server certificate, then its issuing CAs.
    pub tls_cert_file: PathBuf,
    /// PEM file: the server's PKCS#8 private key.
    pub tls_key_file: PathBuf,
    /// What client certificates must chain to: CA files, a reloadable CA directory, and the
    /// CAs' CRLs (a client certificate without a CRL of its issuer is refused).
    pub client_trust: TrustConfig,
    /// Serve gRPC without TLS (no client certificates: every caller is anonymous). Only for
    /// a trusted loopback; logged as a warning at start.
    pub insecure_plaintext: bool,
    /// Also accept TLS 1.2 (TLS 1.3 only by default).
    pub allow_tls12: bool,
    /// Time allowed for a TLS handshake, milliseconds.
    pub handshake_timeout_ms: u64,
    /// Requests per second one caller may start (a client certificate, else a client
    /// address), with a burst of the same size.
    pub requests_per_second: u32,
    /// Calls one caller may have running at once.
    pub max_concurrent_calls: u32,
    /// Bytes all uploads in flight (Certify, Verify, digitisation) may hold together.
    pub max_upload_memory_bytes: u64,
    /// An upload stream that sends nothing for this long is cut off, milliseconds.
    pub stream_idle_timeout_ms: u64,
}

impl ServerConfig {
    /// Checks the TLS files (unless plaintext is chosen) and the limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.insecure_plaintext {
            check_file("server.tls_cert_file", &self.tls_cert_file)?;
            check_file("server.tls_key_file", &self.tls_key_file)?;
            let t = &self.client_trust;
            if t.anchors.is_empty() && t.anchors_dir().is_none() {
                return Err(ConfigError::Invalid {
                    field: "server.client_trust.anchors",
                    message: "list the CA files client certificates must chain to, or set server.client_trust.anchors_dir".into(),
                });
            }
            for a in &t.anchors {
                check_file("server.client_trust.anchors", a)?;
            }
            for c in &t.crls {
                check_file("server.client_trust.crls", c)?;
            }
        }
        let limits = [
            ("server.handshake_timeout_ms", self.handshake_timeout_ms),
            (
                "server.requests_per_second",
                u64::from(self.requests_per_second),
            ),
            (
                "server.max_concurrent_calls",
                u64::from(self.max_concurrent_calls),
            ),
            (
                "server.max_upload_memory_bytes",
                self.max_upload_memory_bytes,
            ),
            ("server.stream_idle_timeout_ms", self.stream_idle_timeout_ms),
        ];
        for (field, value) in limits {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    field,
                    message: "must be above 0".into(),
                });
            }
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        let tls = Path::new(TEST_PKI_DIR).join("tls");
        Self {
            tls_cert_file: tls.join("server.pem"),
            tls_key_file: tls.join("server.key.pem"),
            client_trust: TrustConfig {
                anchors: vec![tls.join("ca.pem")],
                crls: vec![tls.join("ca.crl")],
                ..TrustConfig::default()
            },
            insecure_plaintext: false,
            allow_tls12: false,
            handshake_timeout_ms: 10_000,
            requests_per_second: 200,
            max_concurrent_calls: 64,
            max_upload_memory_bytes: 1 << 30,
            stream_idle_timeout_ms: 30_000,
        }
    }
}

/// Limits on every size the service accepts.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest single uploaded file, bytes.
    pub max_file_bytes: u64,
    /// Largest total upload of one Certify call, bytes.
    pub max_upload_bytes: u64,
    /// Most files in one Certify call.
    pub max_files: u32,
    /// Most pages in one copy.
    pub max_pages: u32,
    /// Most pixels in one page image (decompression-bomb guard).
    pub max_pixels_per_page: u64,
    /// Minimum scan resolution, dots per inch (NĐ 30/2020: 200).
    pub min_dpi: u32,
    /// Largest PDF accepted by Verify, bytes.
    pub max_verify_bytes: u64,
}

/// Default limits: generous for real scans, far below what would hurt the host.
impl Default for Limits {
    fn default() -> Self {
        Self {
            max_file_bytes: 64 << 20,
            max_upload_bytes: 256 << 20,
            max_files: 50,
            max_pages: 500,
            max_pixels_per_page: 150_000_000,
            min_dpi: 200,
            max_verify_bytes: 256 << 20,
        }
    }
}

/// Directory of the TEST PKI, relative to the working directory.
pub const TEST_PKI_DIR: &str = "certs-test";

impl Default for Config {
    fn default() -> Self {
        let pki = Path::new(TEST_PKI_DIR);
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            data_dir: PathBuf::from("data"),
            store: StoreConfig::default(),
            agencies: agency::test_agencies(pki),
            agencies_dir: PathBuf::new(),
            agencies_reload_secs: DEFAULT_TRUST_RELOAD_SECS,
            legacy_agency: None,
            legacy_signers: None,
            pending: PendingConfig::default(),
            fees: FeeSchedule::default(),
            trust: TrustConfig {
                anchors: vec![pki.join("root.pem")],
                crls: vec![pki.join("issuing-ca.crl"), pki.join("root.crl")],
                ..TrustConfig::default()
            },
            limits: Limits::default(),
            server: ServerConfig::default(),
            audit: crate::audit::AuditConfig::default(),
            http: crate::web::HttpConfig::default(),
            metrics: crate::metrics::MetricsConfig::default(),
            log: crate::metrics::LogConfig::default(),
            signing: crate::sign::SigningConfig::default(),
            tsa: crate::tsa::TsaConfig::default(),
            pki: crate::pkiserve::PkiConfig::default(),
            using_test_pki: true,
        }
    }
}

impl Config {
    /// Reads `path` (or the defaults when `None`), applies environment overrides
    /// (`SAOY_LISTEN`, `SAOY_DATA_DIR`, `SAOY_STORE`, `SAOY_AGENCY_KEY_FILE`,
    /// `SAOY_CERTIFIER_KEY_FILE`, `SAOY_PUBLIC_BASE_URL`)
    /// and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let mut config = match path {
            None => Config::default(),
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                Self::parse(&text, &p.display().to_string())?
            }
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text (no env, no validation).
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string(),
        })?;
        let raw: toml::Table = toml::from_str(text).unwrap_or_default();
        if raw.contains_key("agencies")
            && (raw.contains_key("agency") || raw.contains_key("signers"))
        {
            return Err(ConfigError::Invalid {
                field: "agency",
                message: "[agency]/[signers] (one agency, the earlier form) and [[agencies]] cannot be combined: move the agency into an [[agencies]] table".into(),
            });
        }
        config.fold_legacy_agency()?;
        config.using_test_pki = config
            .agencies
            .iter()
            .any(|a| a.signer.key_file.starts_with(TEST_PKI_DIR));
        Ok(config)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = get("SAOY_LISTEN") {
            self.listen = v.parse().map_err(|_| ConfigError::Invalid {
                field: "listen",
                message: format!("SAOY_LISTEN={v:?} is not an address like 127.0.0.1:50051"),
            })?;
        }
        if let Some(v) = get("SAOY_PUBLIC_BASE_URL") {
            self.http.public_base_url = v;
        }
        if let Some(v) = get("SAOY_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("SAOY_STORE") {
            self.store.url = v;
        }
        let mut single = match self.agencies.as_mut_slice() {
            [one] => Some(one),
            _ => None,
        };
        for (var, certifier) in [
            ("SAOY_AGENCY_KEY_FILE", false),
            ("SAOY_CERTIFIER_KEY_FILE", true),
        ] {
            let Some(v) = get(var) else { continue };
            let Some(agency) = single.as_deref_mut() else {
                return Err(ConfigError::Invalid {
                    field: "agencies",
                    message: format!(
                        "{var} applies to a configuration of one agency; name each key file in its agency's table"
                    ),
                });
            };
            let signer = match certifier {
                false => Some(&mut agency.signer),
                true => agency.certifiers.first_mut(),
            };
            if let Some(signer) = signer {
                signer.key_file = v.into();
                signer.pkcs11 = None;
                signer.external = false;
            }
        }
        Ok(())
    }

    /// Turns an earlier release's `[agency]` + `[signers]` into the one entry of
    /// `agencies`; both forms at once is an error.
    fn fold_legacy_agency(&mut self) -> Result<(), ConfigError> {
        let (agency, signers) = (self.legacy_agency.take(), self.legacy_signers.take());
        if agency.is_none() && signers.is_none() {
            return Ok(());
        }
        if !self.agencies_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                field: "agency",
                message: "[agency]/[signers] (one agency) and agencies_dir cannot be combined: move the agency into a file of agencies_dir or a [[agencies]] table".into(),
            });
        }
        let mut one = agency.unwrap_or_else(|| {
            AgencyConfig::with_usual_texts("H72.21.01", "UBND xã Tân Lập", "Tây Ninh")
        });
        let defaults = AgencyConfig::with_usual_texts(&one.code, &one.name, &one.location);
        for (value, default) in [
            (&mut one.book, defaults.book),
            (&mut one.book_code, defaults.book_code),
            (&mut one.copy_type, defaults.copy_type),
            (&mut one.statement, defaults.statement),
        ] {
            if value.is_empty() {
                *value = default;
            }
        }
        let first_default = agency::test_agencies(Path::new(TEST_PKI_DIR)).swap_remove(0);
        let signers = signers.unwrap_or_else(|| SignersConfig {
            agency: first_default.signer.clone(),
            certifier: first_default.certifiers.first().cloned(),
        });
        one.signer = signers.agency;
        if one.signer.name.is_empty() {
            one.signer.name = one.name.clone();
        }
        one.certifiers = signers.certifier.into_iter().collect();
        self.agencies = vec![one];
        Ok(())
    }

    /// The agencies of the configuration file (not those of `agencies_dir`, which the app
    /// reads and re-reads).
    pub fn agency(&self, code: &str) -> Option<&AgencyConfig> {
        self.agencies.iter().find(|a| a.code == code)
    }

    /// The metrics listener is not the gRPC or the public HTTP listener (metrics are never
    /// served to the public), and the health probe has an interval and a timeout.
    fn validate_metrics(&self) -> Result<(), ConfigError> {
        let m = &self.metrics;
        let shared = m.listen.port() != 0
            && (m.listen == self.listen || (self.http.enabled && m.listen == self.http.listen));
        if m.enabled && shared {
            return Err(ConfigError::Invalid {
                field: "metrics.listen",
                message: format!(
                    "{} is also the gRPC or the public HTTP listener: metrics need an address of their own",
                    m.listen
                ),
            });
        }
        if m.store_probe_interval_ms == 0 || m.store_probe_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                field: "metrics.store_probe_interval_ms",
                message: "the store probe's interval and timeout are at least 1 ms".into(),
            });
        }
        Ok(())
    }

    /// The in-process test TSA's URL, on the TEST PKI (`None` otherwise).
    pub fn test_tsa_url(&self) -> Option<String> {
        self.using_test_pki.then(|| self.pki.tsa_url())
    }

    /// Checks every field; errors name the field and say what to fix.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_metrics()?;
        if self.agencies.is_empty() && self.agencies_dir.as_os_str().is_empty() {
            return Err(ConfigError::Invalid {
                field: "agencies",
                message: "no agency: add an [[agencies]] table or set agencies_dir".into(),
            });
        }
        let mut codes = std::collections::HashSet::new();
        for a in &self.agencies {
            a.validate()?;
            if !codes.insert(a.code.as_str()) {
                return Err(ConfigError::Invalid {
                    field: "agencies.code",
                    message: format!("agency {} is configured twice", a.code),
                });
            }
        }
        if !self.agencies_dir.as_os_str().is_empty() && !self.agencies_dir.is_dir() {
            return Err(ConfigError::Invalid {
                field: "agencies_dir",
                message: format!("directory {} not found", self.agencies_dir.display()),
            });
        }
        self.fees.validate()?;
        if self.pending.timeout_secs == 0 || self.pending.sweep_interval_secs == 0 {
            return Err(ConfigError::Invalid {
                field: "pending.timeout_secs",
                message: "pending.timeout_secs and pending.sweep_interval_secs must be above 0"
                    .into(),
            });
        }
        if self.trust.anchors.is_empty() && self.trust.anchors_dir().is_none() {
            return Err(ConfigError::Invalid {
                field: "trust.anchors",
                message: "list at least one PEM file of trust anchors, or set trust.anchors_dir"
                    .into(),
            });
        }
        for a in &self.trust.anchors {
            check_file("trust.anchors", a)?;
        }
        if let Some(dir) = self.trust.anchors_dir()
            && !dir.is_dir()
        {
            return Err(ConfigError::Invalid {
                field: "trust.anchors_dir",
                message: format!("directory {} not found", dir.display()),
            });
        }
        if self.trust.reload_interval_secs > MAX_TRUST_RELOAD_SECS {
            return Err(ConfigError::Invalid {
                field: "trust.reload_interval_secs",
                message: format!(
                    "at most {MAX_TRUST_RELOAD_SECS} (one day); 0 reloads only on SIGHUP"
                ),
            });
        }
        for c in &self.trust.crls {
            check_file("trust.crls", c)?;
        }
        self.store.location(&self.data_dir)?;
        if self.store.max_attempts == 0 {
            return Err(ConfigError::Invalid {
                field: "store.max_attempts",
                message: "must be at least 1 (the first attempt counts)".into(),
            });
        }
        if self.store.connect_timeout_ms == 0 || self.store.attempt_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                field: "store.connect_timeout_ms",
                message: "store.connect_timeout_ms and store.attempt_timeout_ms must be above 0"
                    .into(),
            });
        }
        let l = &self.limits;
        if l.min_dpi == 0 || l.max_pages == 0 || l.max_files == 0 || l.max_file_bytes == 0 {
            return Err(ConfigError::Invalid {
                field: "limits",
                message: "min_dpi, max_pages, max_files and max_file_bytes must be above 0".into(),
            });
        }
        if l.max_upload_bytes < l.max_file_bytes {
            return Err(ConfigError::Invalid {
                field: "limits.max_upload_bytes",
                message: "must be at least limits.max_file_bytes".into(),
            });
        }
        self.server.validate()?;
        self.tsa
            .validate(
                self.signing.level.needs_timestamp(),
                self.test_tsa_url().as_deref(),
            )
            .map_err(|(field, message)| ConfigError::Invalid { field, message })?;
        self.http.validate().map_err(|p| ConfigError::Invalid {
            field: p.field,
            message: p.message,
        })
    }
}

pub(crate) fn check_file(field: &'static str, path: &Path) -> Result<(), ConfigError> {
    if path.is_file() {
        return Ok(());
    }
    let hint = if path.starts_with(TEST_PKI_DIR) {
        " (the default TEST PKI is read from ./certs-test: run from the repository root, or pass --config)"
    } else {
        ""
    };
    Err(ConfigError::Invalid {
        field,
        message: format!("file {} not found{hint}", path.display()),
    })
}

impl ConfigError {
    /// The kind of this failure: always internal (a broken configuration is the operator's to fix).
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_field_is_named() {
        let err = Config::parse("listen = \"127.0.0.1:1\"\nbogus = 1\n", "t.toml").unwrap_err();
        assert!(err.to_string().contains("bogus"), "{err}");
    }

    #[test]
    fn metrics_and_log_tables_parse_and_metrics_keep_their_own_address() {
        let c = Config::parse(
            "[metrics]\nlisten = \"127.0.0.1:9100\"\nstore_probe_interval_ms = 250\n[log]\nformat = \"json\"\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(c.metrics.listen.port(), 9100);
        assert_eq!(c.metrics.store_probe_interval_ms, 250);
        assert_eq!(c.log.format, crate::metrics::LogFormat::Json);
        assert_eq!(Config::default().metrics.listen.port(), 50091);
        let mut c = Config::default();
        c.metrics.listen = c.http.listen;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("metrics.listen"), "{err}");
    }

    #[test]
    fn bad_agency_code_is_named() {
        let mut c = Config::default();
        c.agencies[0].code = "bad code".into();
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("agencies.code"), "{err}");
    }

    #[test]
    fn store_table_parses_and_is_checked() {
        let c = Config::parse(
            "[store]\nurl = \"s3://saoy-copies/prod\"\nendpoint_url = \"http://127.0.0.1:9000\"\nsingle_replica = true\n",
            "t.toml",
        )
        .unwrap();
        assert!(matches!(
            c.store.location(&c.data_dir).unwrap(),
            Location::S3(_)
        ));
        assert!(c.store.single_replica);
        assert_eq!(
            c.store.s3_options().endpoint_url.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        let mut c = Config::default();
        c.store.url = "s3://Bad_Bucket".into();
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("store.url"), "{err}");
    }

    #[test]
    fn trust_dir_alone_is_enough_and_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let c = Config::parse(
            &format!(
                "[trust]\nanchors_dir = {:?}\nreload_interval_secs = 5\n",
                dir.path().display().to_string()
            ),
            "t.toml",
        )
        .unwrap();
        assert!(c.trust.anchors.is_empty());
        assert_eq!(c.trust.anchors_dir(), Some(dir.path()));
        assert_eq!(c.trust.reload_interval(), Some(Duration::from_secs(5)));
        let defaults = Config::parse("[trust]\nanchors = []\n", "t.toml").unwrap();
        assert_eq!(
            defaults.trust.reload_interval_secs,
            DEFAULT_TRUST_RELOAD_SECS
        );
        assert_eq!(defaults.trust.anchors_dir(), None);

        let mut c = Config::default();
        c.trust.anchors.clear();
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("trust.anchors"), "{err}");
        c.trust.anchors_dir = dir.path().join("missing");
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("trust.anchors_dir"), "{err}");
        c.trust.anchors_dir = dir.path().to_path_buf();
        c.trust.reload_interval_secs = MAX_TRUST_RELOAD_SECS + 1;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("reload_interval_secs"), "{err}");
    }

    #[test]
    fn env_override_of_listen_is_checked() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "SAOY_LISTEN").then(|| "nonsense".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("SAOY_LISTEN"), "{err}");
    }
}
