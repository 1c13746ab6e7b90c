//! The load harness's core, shared by `benches/load.rs` (the figures) and the service tests
//! (`tests/service/load.rs`, the same code at tiny scale, checking the report's structure).
//!
//! N client tasks, each on its own HTTP/2 connection (one connection would serialise the
//! streams), call Certify, Verify (the bytes of a 1-page copy) or GetCopy through gRPC over
//! mutual TLS against 1..3 real in-process saoy servers ("replicas": several servers on one
//! store, clients spread round-robin), on the local store or on S3 (s3s-fs). Every call's
//! duration is recorded and every failure counted by its gRPC code: a call is never dropped.
//!
//! Beside each step the same calls with the same bytes go to a **baseline** server: the
//! same three services, the same TLS acceptor (`saoy::service::tls`) and accept loop
//! (`saoy::service::connection`, `TCP_NODELAY`), the same message limit, but handlers that
//! only drain the request and answer an empty message (GetCopy: a header and the same copy
//! bytes). It is served only in the harness's process, never by saoy. The ratio saoy ÷
//! baseline is what saoy itself costs over the transport.
//!
//! Resources: the servers run in this process on their own runtime, whose threads are named
//! [`SERVER_THREADS`]; the clients on another, named [`CLIENT_THREADS`]. Server CPU is the
//! process's CPU (`/proc/self/stat` utime + stime) less the client threads' and the other
//! live threads' (main, the S3 test proxy; their `/proc/self/task/*/stat`), so server
//! threads that ended during a step still count for the server. RSS (`VmRSS`) and peak (`VmHWM`, reset before each step through
//! `/proc/self/clear_refs` where the kernel allows) are the whole process's and so include
//! the clients (their buffers are small next to the servers'). On S3, the s3s-fs process's
//! CPU and RSS are reported beside.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::certification_service_server::{CertificationService, CertificationServiceServer};
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::record_service_server::{RecordService, RecordServiceServer};
use saoy::proto::verification_service_client::VerificationServiceClient;
use saoy::proto::verification_service_server::{VerificationService, VerificationServiceServer};
use saoy::proto::{self as pb, CertifyRequest, VerifyRequest, get_copy_response, verify_request};
use serde::Serialize;
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Request, Response, Status, Streaming};

use super::client::{self, Upload};

/// The name of the servers' runtime threads (Linux keeps 15 bytes of a thread name).
pub const SERVER_THREADS: &str = "saoy-server";
/// The name of the clients' runtime threads.
pub const CLIENT_THREADS: &str = "load-client";
/// Bytes per upload message (the size `saoy certify` and the tests send).
const UPLOAD_CHUNK: usize = 64 * 1024;

/// What the clients call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// Certify of the 300 dpi sample scan (one page).
    Certify,
    /// Verify of a 1-page copy's bytes, streamed.
    Verify,
    /// GetCopy of a stored copy (re-verified by the server).
    Read,
}

impl Scenario {
    /// Its name in options and the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Certify => "certify",
            Self::Verify => "verify",
            Self::Read => "read",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "certify" => Self::Certify,
            "verify" => Self::Verify,
            "read" => Self::Read,
            other => panic!("unknown scenario {other:?}: certify, verify or read"),
        }
    }
}

/// Where the servers keep copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// One local directory shared by the replicas.
    Local,
    /// One bucket of s3s-fs (behind the test proxy that makes conditional PUTs atomic).
    S3,
}

impl StoreKind {
    fn parse(s: &str) -> Self {
        match s {
            "local" => Self::Local,
            "s3" => Self::S3,
            other => panic!("unknown store {other:?}: local or s3"),
        }
    }

    /// Its name in options and the report.
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::S3 => "s3",
        }
    }
}

/// What to run; see `benches/load.rs` for the environment variables that set it.
#[derive(Clone, Debug, Serialize)]
pub struct Options {
    /// Scenarios, in this order for every configuration.
    pub scenarios: Vec<Scenario>,
    /// Concurrent clients of each step.
    pub concurrency: Vec<usize>,
    /// Calls per step (`None`: [`Options::calls_for`]'s default); ignored with `seconds`.
    pub calls: Option<usize>,
    /// Seconds per step instead of a number of calls.
    pub seconds: Option<f64>,
    /// Replica counts (servers on one store).
    pub replicas: Vec<usize>,
    /// Stores.
    pub stores: Vec<StoreKind>,
    /// Whether to measure the baseline beside every step.
    pub baseline: bool,
    /// On S3, talk to s3s-fs directly rather than through the test proxy that makes
    /// conditional PUTs atomic (shows what the proxy costs; racing replicas may then fork).
    pub s3_raw: bool,
    /// Distinct copies made before the steps, read and verified round-robin.
    pub copies: usize,
    /// Where `report.json` and `latency.svg` go.
    pub out: PathBuf,
}

fn list<T>(var: &str, default: &str, parse: impl Fn(&str) -> T) -> Vec<T> {
    let text = std::env::var(var).unwrap_or_else(|_| default.to_string());
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse)
        .collect()
}

fn number(s: &str) -> usize {
    s.parse()
        .ok()
        .filter(|n| *n > 0)
        .unwrap_or_else(|| panic!("{s:?} is not a positive number"))
}

impl Options {
    /// Reads the `SAOY_LOAD_*` variables; `out` is the default output directory.
    pub fn from_env(out: PathBuf) -> Self {
        let full = std::env::var("SAOY_LOAD_FULL").is_ok_and(|v| v == "1");
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            scenarios: list(
                "SAOY_LOAD_SCENARIOS",
                "certify,verify,read",
                Scenario::parse,
            ),
            concurrency: list("SAOY_LOAD_CONCURRENCY", "1,8,64", number),
            calls: var("SAOY_LOAD_CALLS")
                .map(|v| number(&v))
                .or(full.then_some(500)),
            seconds: var("SAOY_LOAD_SECS").map(|v| v.parse().expect("SAOY_LOAD_SECS: seconds")),
            replicas: list(
                "SAOY_LOAD_REPLICAS",
                if full { "1,2,3" } else { "1" },
                number,
            ),
            stores: list("SAOY_LOAD_STORES", "local,s3", StoreKind::parse),
            baseline: var("SAOY_LOAD_BASELINE").is_none_or(|v| v != "0"),
            s3_raw: var("SAOY_LOAD_S3_RAW").is_some_and(|v| v == "1"),
            copies: var("SAOY_LOAD_COPIES")
                .map(|v| number(&v))
                .unwrap_or(if full { 64 } else { 16 }),
            out: var("SAOY_LOAD_OUT").map(PathBuf::from).unwrap_or(out),
        }
    }

    /// Calls of one step at `concurrency` clients: the `calls` option, else 3 per client
    /// and at least 40.
    pub fn calls_for(&self, concurrency: usize) -> usize {
        self.calls.unwrap_or((3 * concurrency).max(40))
    }
}

/// The whole run: what ran, on what machine, every step.
#[derive(Debug, Serialize)]
pub struct Report {
    /// When the run started (UTC, RFC 3339).
    pub started: String,
    /// The machine and its load.
    pub machine: Machine,
    /// The options the run used.
    pub options: Options,
    /// The bytes each call carries.
    pub payload: Payload,
    /// One entry per (store, replicas, scenario, concurrency), in run order.
    pub steps: Vec<Step>,
    /// The figures issue 13 asks for, per (store, replicas).
    pub headlines: Vec<Headline>,
    /// How to read the figures.
    pub notes: Vec<String>,
}

/// The machine the run measured.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Cores the process may use.
    pub cores: usize,
    /// `/proc/loadavg` (1, 5, 15 min) when the run started.
    pub load_before: [f64; 3],
    /// The same when it ended.
    pub load_after: [f64; 3],
}

/// The bytes of each scenario's calls.
#[derive(Debug, Default, Serialize)]
pub struct Payload {
    /// The scan uploaded by each Certify call.
    pub certify_upload_bytes: usize,
    /// Mean size of the copies verified and read.
    pub copy_bytes: usize,
    /// Distinct copies verified and read round-robin.
    pub copies: usize,
}

/// One step: a scenario at a concurrency on a configuration, beside its baseline.
#[derive(Debug, Serialize)]
pub struct Step {
    /// The scenario.
    pub scenario: Scenario,
    /// The store.
    pub store: StoreKind,
    /// Servers on the store.
    pub replicas: usize,
    /// Concurrent clients.
    pub concurrency: usize,
    /// saoy's figures.
    pub saoy: Measure,
    /// The baseline's, when measured.
    pub baseline: Option<Measure>,
    /// saoy ÷ baseline.
    pub ratio: Option<Ratio>,
}

/// How much more saoy costs than the baseline (each > 1 when saoy is slower).
#[derive(Debug, Serialize)]
pub struct Ratio {
    /// saoy's p50 ÷ the baseline's.
    pub p50: f64,
    /// saoy's p99 ÷ the baseline's.
    pub p99: f64,
    /// The baseline's throughput ÷ saoy's.
    pub throughput: f64,
}

/// The figures of one set of calls.
#[derive(Debug, Default, Serialize)]
pub struct Measure {
    /// Calls made (= `ok` + the sum of `errors`).
    pub calls: usize,
    /// Calls that succeeded (for Verify and GetCopy on saoy: with a PASSED report).
    pub ok: usize,
    /// Failed calls by gRPC code (`report_not_passed`: an OK answer whose report is not
    /// PASSED); always present, empty when none failed.
    pub errors: BTreeMap<String, usize>,
    /// Wall time of the step, seconds.
    pub elapsed_s: f64,
    /// Calls per second (all calls, failed ones included).
    pub throughput_per_s: f64,
    /// Latency of every call.
    pub latency_ms: Latency,
    /// Server CPU and memory over the step.
    pub resources: Resources,
}

/// Percentiles of the calls' durations (nearest rank), milliseconds.
#[derive(Debug, Default, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest call.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// CPU and memory over one step (see the module's documentation for what each includes).
#[derive(Debug, Default, Serialize)]
pub struct Resources {
    /// CPU seconds of the servers: the process less the client threads and the other live
    /// threads (so server threads that ended during the step still count).
    pub server_cpu_s: f64,
    /// The same per call, milliseconds.
    pub server_cpu_ms_per_call: f64,
    /// Cores the servers kept busy on average.
    pub server_cores_busy: f64,
    /// CPU seconds of the client threads.
    pub client_cpu_s: f64,
    /// CPU seconds of the process's other threads: the main thread and, on S3, the test
    /// proxy in front of s3s-fs (left out of `server_cpu_s`).
    pub other_cpu_s: f64,
    /// Process RSS after the step, MiB (servers and clients).
    pub rss_mib: f64,
    /// Process peak RSS during the step, MiB (`VmHWM`; since start where it cannot be reset).
    pub peak_rss_mib: f64,
    /// CPU seconds of s3s-fs (S3 only).
    pub s3_cpu_s: Option<f64>,
    /// RSS of s3s-fs after the step, MiB (S3 only).
    pub s3_rss_mib: Option<f64>,
}

/// The figures the issue asks for, for one (store, replicas).
#[derive(Debug, Serialize)]
pub struct Headline {
    /// The store.
    pub store: StoreKind,
    /// Servers on the store.
    pub replicas: usize,
    /// Verify p50 at the lowest concurrency, milliseconds, and that concurrency.
    pub verify_p50_ms: Option<(usize, f64)>,
    /// At the highest concurrency: per scenario, throughput, p99 and the baseline ratios.
    pub at_top: Vec<TopFigure>,
}

/// One scenario's figures at the highest concurrency.
#[derive(Debug, Serialize)]
pub struct TopFigure {
    /// The scenario.
    pub scenario: Scenario,
    /// Its concurrency.
    pub concurrency: usize,
    /// Calls per second.
    pub throughput_per_s: f64,
    /// p99, milliseconds.
    pub p99_ms: f64,
    /// saoy ÷ baseline.
    pub ratio: Option<Ratio>,
}

// ---------------------------------------------------------------------------------------
// The baseline: the same services, answering without doing anything.

/// The baseline's handlers: drain the request, answer an empty message; GetCopy sends a
/// header and the same bytes saoy would.
#[derive(Clone, Default)]
struct Discard {
    copies: Arc<HashMap<String, Bytes>>,
}

async fn drain<T>(mut stream: Streaming<T>) -> Result<usize, Status> {
    let mut n = 0;
    while stream.message().await?.is_some() {
        n += 1;
    }
    Ok(n)
}

#[tonic::async_trait]
impl CertificationService for Discard {
    async fn certify(
        &self,
        request: Request<Streaming<CertifyRequest>>,
    ) -> Result<Response<pb::CertificationRecord>, Status> {
        drain(request.into_inner()).await?;
        Ok(Response::new(pb::CertificationRecord::default()))
    }

    async fn complete_certification(
        &self,
        _: Request<pb::CompleteCertificationRequest>,
    ) -> Result<Response<pb::CertificationRecord>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn list_pending_certifications(
        &self,
        _: Request<pb::ListPendingCertificationsRequest>,
    ) -> Result<Response<pb::ListPendingCertificationsResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn refuse_certification(
        &self,
        _: Request<pb::RefuseCertificationRequest>,
    ) -> Result<Response<pb::RefuseCertificationResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
}

#[tonic::async_trait]
impl VerificationService for Discard {
    async fn verify(
        &self,
        request: Request<Streaming<VerifyRequest>>,
    ) -> Result<Response<pb::VerificationReport>, Status> {
        drain(request.into_inner()).await?;
        Ok(Response::new(pb::VerificationReport::default()))
    }
}

type CopyStream = futures::stream::Iter<std::vec::IntoIter<Result<pb::GetCopyResponse, Status>>>;

#[tonic::async_trait]
impl RecordService for Discard {
    type GetCopyStream = CopyStream;

    async fn get_copy(
        &self,
        request: Request<pb::GetCopyRequest>,
    ) -> Result<Response<CopyStream>, Status> {
        let id = request.into_inner().id;
        let bytes = self.copies.get(&id).ok_or_else(|| Status::not_found(id))?;
        let header = pb::CopyHeader {
            size: bytes.len() as u64,
            hash_matches: true,
            ..Default::default()
        };
        let mut parts = vec![Ok(pb::GetCopyResponse {
            part: Some(get_copy_response::Part::Header(header)),
        })];
        for chunk in bytes.chunks(saoy::service::CHUNK_SIZE) {
            parts.push(Ok(pb::GetCopyResponse {
                part: Some(get_copy_response::Part::Chunk(chunk.to_vec())),
            }));
        }
        Ok(Response::new(futures::stream::iter(parts)))
    }

    // Every other RPC: UNIMPLEMENTED (the load calls only GetCopy).
    async fn list_records(
        &self,
        _: Request<pb::ListRecordsRequest>,
    ) -> Result<Response<pb::ListRecordsResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn find_reusable(
        &self,
        _: Request<pb::FindReusableRequest>,
    ) -> Result<Response<pb::FindReusableResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn lookup_by_hash(
        &self,
        _: Request<pb::LookupByHashRequest>,
    ) -> Result<Response<pb::LookupByHashResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn revoke_copy(
        &self,
        _: Request<pb::RevokeCopyRequest>,
    ) -> Result<Response<pb::CertificationRecord>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn grant_consent(
        &self,
        _: Request<pb::GrantConsentRequest>,
    ) -> Result<Response<pb::Consent>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn withdraw_consent(
        &self,
        _: Request<pb::WithdrawConsentRequest>,
    ) -> Result<Response<pb::Consent>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn list_consents(
        &self,
        _: Request<pb::ListConsentsRequest>,
    ) -> Result<Response<pb::ListConsentsResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }

    async fn list_accesses(
        &self,
        _: Request<pb::ListAccessesRequest>,
    ) -> Result<Response<pb::ListAccessesResponse>, Status> {
        Err(Status::unimplemented("baseline"))
    }
}

/// A running baseline server; dropped → shut down.
struct Baseline {
    port: u16,
    _stop: oneshot::Sender<()>,
}

/// Starts the baseline on 127.0.0.1:0 with the test server's TLS settings. Call inside the
/// servers' runtime.
async fn start_baseline(copies: HashMap<String, Bytes>) -> Baseline {
    let data = tempfile::tempdir().expect("temp dir");
    let config = super::server::test_config(data.path());
    let acceptor = saoy::service::tls::acceptor(&config.server, Vec::new()).expect("TLS");
    let (listener, addr) = saoy::service::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    let timeout = Duration::from_millis(config.server.handshake_timeout_ms);
    let incoming = saoy::service::connection::incoming(listener, Some(acceptor), timeout);
    let discard = Discard {
        copies: Arc::new(copies),
    };
    let max = 4 << 20; // saoy's own limit (src/service/server.rs)
    let router = tonic::transport::Server::builder()
        .add_service(
            CertificationServiceServer::new(discard.clone()).max_decoding_message_size(max),
        )
        .add_service(VerificationServiceServer::new(discard.clone()).max_decoding_message_size(max))
        .add_service(RecordServiceServer::new(discard));
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = router
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    Baseline {
        port: addr.port(),
        _stop: stop,
    }
}

// ---------------------------------------------------------------------------------------
// Resources.

#[derive(Clone, Copy, Default)]
struct Sample {
    at: Option<Instant>,
    process_ticks: u64,
    client_ticks: u64,
    other_ticks: u64,
    rss_kib: u64,
    hwm_kib: u64,
    s3: Option<(u64, u64)>,
}

/// utime + stime of a `/proc/…/stat` line (fields 14 and 15, counted after the name).
fn ticks(stat: &str) -> u64 {
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    field(11) + field(12)
}

fn status_kib(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// CPU ticks of the live threads named [`CLIENT_THREADS`], and of those named neither that
/// nor [`SERVER_THREADS`] (the main thread, the S3 test proxy's thread).
fn thread_ticks() -> (u64, u64) {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return (0, 0);
    };
    let (mut client, mut other) = (0, 0);
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        let t = std::fs::read_to_string(task.path().join("stat")).map_or(0, |s| ticks(&s));
        if comm.starts_with(CLIENT_THREADS) {
            client += t;
        } else if !comm.starts_with(SERVER_THREADS) {
            other += t;
        }
    }
    (client, other)
}

fn sample(s3_pid: Option<u32>) -> Sample {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let s3 = s3_pid.map(|pid| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let st = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        (ticks(&stat), status_kib(&st, "VmRSS:"))
    });
    let (client_ticks, other_ticks) = thread_ticks();
    Sample {
        at: Some(Instant::now()),
        process_ticks: std::fs::read_to_string("/proc/self/stat").map_or(0, |s| ticks(&s)),
        client_ticks,
        other_ticks,
        rss_kib: status_kib(&status, "VmRSS:"),
        hwm_kib: status_kib(&status, "VmHWM:"),
        s3,
    }
}

/// Resets `VmHWM` to the current RSS (Linux: `5` to `/proc/self/clear_refs`); best effort.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn clock_ticks_per_s() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

fn resources(before: &Sample, after: &Sample, calls: usize, hz: f64) -> Resources {
    let secs = |t: u64| t as f64 / hz;
    let client = secs(after.client_ticks.saturating_sub(before.client_ticks));
    let process = secs(after.process_ticks.saturating_sub(before.process_ticks));
    let other = secs(after.other_ticks.saturating_sub(before.other_ticks));
    let server = (process - client - other).max(0.0);
    let wall = match (before.at, after.at) {
        (Some(a), Some(b)) => (b - a).as_secs_f64().max(1e-9),
        _ => 1.0,
    };
    let mib = |k: u64| k as f64 / 1024.0;
    Resources {
        server_cpu_s: server,
        server_cpu_ms_per_call: server * 1000.0 / calls.max(1) as f64,
        server_cores_busy: server / wall,
        client_cpu_s: client,
        other_cpu_s: other,
        rss_mib: mib(after.rss_kib),
        peak_rss_mib: mib(after.hwm_kib.max(after.rss_kib)),
        s3_cpu_s: match (before.s3, after.s3) {
            (Some((a, _)), Some((b, _))) => Some(secs(b.saturating_sub(a))),
            _ => None,
        },
        s3_rss_mib: after.s3.map(|(_, rss)| mib(rss)),
    }
}

// ---------------------------------------------------------------------------------------
// Calls.

/// What every call of a step needs.
struct Work {
    scenario: Scenario,
    /// The Certify upload's file messages (after the metadata message each call adds).
    files: Vec<CertifyRequest>,
    /// Each copy's Verify messages.
    verify: Vec<Vec<VerifyRequest>>,
    /// The copies' ids, for GetCopy.
    ids: Vec<String>,
    /// Unique per run: Certify's client_request_id must not repeat.
    tag: String,
    /// saoy (check the answers) or the baseline (empty answers).
    strict: bool,
}

type Outcome = Result<(), String>;

fn code(status: &Status) -> String {
    format!("{:?}", status.code())
}

fn passed(report: Option<&pb::VerificationReport>) -> Outcome {
    match report.map(|r| r.status.as_str()) {
        Some("PASSED") => Ok(()),
        _ => Err("report_not_passed".into()),
    }
}

async fn call(channel: &Channel, work: &Work, i: usize) -> Outcome {
    match work.scenario {
        Scenario::Certify => {
            let meta = client::meta(&format!("load-{}-{i}", work.tag), 1);
            let mut messages = vec![CertifyRequest {
                part: Some(pb::certify_request::Part::Request(meta)),
            }];
            messages.extend(work.files.iter().cloned());
            let record = CertificationServiceClient::new(channel.clone())
                .certify(futures::stream::iter(messages))
                .await
                .map_err(|s| code(&s))?
                .into_inner();
            match !work.strict || !record.id.is_empty() {
                true => Ok(()),
                false => Err("empty_record".into()),
            }
        }
        Scenario::Verify => {
            let messages = work.verify[i % work.verify.len()].clone();
            let report = VerificationServiceClient::new(channel.clone())
                .verify(futures::stream::iter(messages))
                .await
                .map_err(|s| code(&s))?
                .into_inner();
            match work.strict {
                true => passed(Some(&report)),
                false => Ok(()),
            }
        }
        Scenario::Read => read(channel, work, i).await,
    }
}

async fn read(channel: &Channel, work: &Work, i: usize) -> Outcome {
    let id = work.ids[i % work.ids.len()].clone();
    let mut stream = RecordServiceClient::new(channel.clone())
        .get_copy(pb::GetCopyRequest { id })
        .await
        .map_err(|s| code(&s))?
        .into_inner();
    let mut header = None;
    let mut bytes = 0usize;
    while let Some(message) = stream.message().await.map_err(|s| code(&s))? {
        match message.part {
            Some(get_copy_response::Part::Header(h)) => header = Some(h),
            Some(get_copy_response::Part::Chunk(c)) => bytes += c.len(),
            None => {}
        }
    }
    let header = header.ok_or("no_header")?;
    if bytes as u64 != header.size {
        return Err("short_copy".into());
    }
    match work.strict {
        true if !header.hash_matches => Err("hash_mismatch".into()),
        true => passed(header.report.as_ref()),
        false => Ok(()),
    }
}

/// Runs one step: `concurrency` tasks, each on its own connection to `urls[task % len]`,
/// until `calls` calls are made (or `seconds` have passed); every call's duration and
/// outcome.
async fn drive(
    urls: &[String],
    work: Arc<Work>,
    concurrency: usize,
    calls: usize,
    seconds: Option<f64>,
) -> (Duration, Vec<(Duration, Outcome)>) {
    let mut channels = Vec::with_capacity(concurrency);
    for task in 0..concurrency {
        channels.push(client::channel(&urls[task % urls.len()], "clerk").await);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = seconds.map(|s| started + Duration::from_secs_f64(s));
    let mut tasks = tokio::task::JoinSet::new();
    for channel in channels {
        let (work, next) = (Arc::clone(&work), Arc::clone(&next));
        tasks.spawn(async move {
            let mut done = Vec::new();
            loop {
                let more = match deadline {
                    Some(d) => Instant::now() < d,
                    None => next.load(Ordering::Relaxed) < calls,
                };
                let i = next.fetch_add(1, Ordering::Relaxed);
                if !more || (deadline.is_none() && i >= calls) {
                    break;
                }
                let t = Instant::now();
                let outcome = call(&channel, &work, i).await;
                done.push((t.elapsed(), outcome));
            }
            done
        });
    }
    let mut all = Vec::new();
    while let Some(done) = tasks.join_next().await {
        all.extend(done.expect("client task"));
    }
    (started.elapsed(), all)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn measure(elapsed: Duration, outcomes: Vec<(Duration, Outcome)>, res: Resources) -> Measure {
    let mut latencies: Vec<Duration> = outcomes.iter().map(|(d, _)| *d).collect();
    latencies.sort();
    let mut errors = BTreeMap::new();
    let mut ok = 0;
    for (_, outcome) in &outcomes {
        match outcome {
            Ok(()) => ok += 1,
            Err(code) => *errors.entry(code.clone()).or_insert(0) += 1,
        }
    }
    let calls = outcomes.len();
    let total: f64 = latencies.iter().map(Duration::as_secs_f64).sum();
    Measure {
        calls,
        ok,
        errors,
        elapsed_s: elapsed.as_secs_f64(),
        throughput_per_s: calls as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_ms: Latency {
            p50: percentile(&latencies, 0.50),
            p90: percentile(&latencies, 0.90),
            p99: percentile(&latencies, 0.99),
            max: percentile(&latencies, 1.0),
            mean: total * 1000.0 / calls.max(1) as f64,
        },
        resources: res,
    }
}

// ---------------------------------------------------------------------------------------
// The run.

/// The runtimes and what lives through the whole run.
struct Harness<'a> {
    options: &'a Options,
    servers: tokio::runtime::Runtime,
    clients: tokio::runtime::Runtime,
    upload: Arc<Upload>,
    hz: f64,
    run_tag: String,
}

/// One (store, replicas): its servers, its copies, its baseline; dropped → all shut down.
struct Config {
    /// The replicas (dropped first: fields drop in order).
    _servers: Vec<super::server::TestServer>,
    _baseline: Option<Baseline>,
    /// The local store the replicas share (unused on S3).
    _dir: tempfile::TempDir,
    store: StoreKind,
    replicas: usize,
    urls: Vec<String>,
    copies: Vec<Bytes>,
    ids: Vec<String>,
    baseline_url: Option<String>,
    s3_pid: Option<u32>,
}

fn runtime(name: &'static str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name(name)
        .enable_all()
        .build()
        .expect("runtime")
}

fn loadavg() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut v = text.split_whitespace().map(|f| f.parse().unwrap_or(0.0));
    [
        v.next().unwrap_or(0.0),
        v.next().unwrap_or(0.0),
        v.next().unwrap_or(0.0),
    ]
}

fn upload_messages(upload: &Upload) -> Vec<CertifyRequest> {
    client::messages(None, std::slice::from_ref(upload))
}

fn verify_messages(copy: &Bytes) -> Vec<VerifyRequest> {
    copy.chunks(UPLOAD_CHUNK)
        .map(|c| VerifyRequest {
            source: Some(verify_request::Source::Chunk(c.to_vec())),
        })
        .collect()
}

/// Runs every step the options name and writes `report.json` and `latency.svg` into
/// `options.out`; returns the report.
pub fn run(options: &Options) -> Report {
    let started = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let load_before = loadavg();
    let harness = Harness {
        options,
        servers: runtime(SERVER_THREADS),
        clients: runtime(CLIENT_THREADS),
        upload: Arc::new(Upload {
            name: "sample-scan.jpg".into(),
            media_type: "image/jpeg".into(),
            data: std::fs::read(super::root().join("tests/data/sample-scan.jpg"))
                .expect("tests/data/sample-scan.jpg"),
        }),
        hz: clock_ticks_per_s(),
        run_tag: format!("{:x}", rand::random::<u64>()),
    };
    let s3 = options
        .stores
        .contains(&StoreKind::S3)
        .then(super::s3::S3Server::start);
    let mut steps = Vec::new();
    let mut payload = Payload {
        certify_upload_bytes: harness.upload.data.len(),
        ..Payload::default()
    };
    for &store in &options.stores {
        for &replicas in &options.replicas {
            let config = harness.configure(store, replicas, s3.as_ref());
            payload.copies = config.copies.len();
            payload.copy_bytes =
                config.copies.iter().map(Bytes::len).sum::<usize>() / config.copies.len().max(1);
            for &scenario in &options.scenarios {
                for &concurrency in &options.concurrency {
                    let step = harness.step(&config, scenario, concurrency);
                    print_step(&step);
                    steps.push(step);
                }
            }
            harness.stop(config);
        }
    }
    drop(s3);
    let headlines = headlines(options, &steps);
    let report = Report {
        started,
        machine: Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            load_before,
            load_after: loadavg(),
        },
        options: options.clone(),
        payload,
        steps,
        headlines,
        notes: notes(),
    };
    write(&report, &options.out);
    report
}

fn notes() -> Vec<String> {
    [
        "servers, baseline and clients run in one process on one machine: the clients' CPU is measured apart (client_cpu_s) and left out of server_cpu_s, but rss_mib and peak_rss_mib are the whole process's",
        "baseline: the same services over the same TLS acceptor and accept loop, whose handlers only drain the request and answer an empty message (GetCopy: a header and the same copy bytes)",
        "ratio: saoy ÷ baseline for p50 and p99; baseline throughput ÷ saoy throughput",
        "replicas: servers of one process on one store, clients spread round-robin, one connection per client",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

impl Harness<'_> {
    /// Starts `replicas` servers on one store, makes the copies to verify and read, and the
    /// baseline that serves the same copies.
    fn configure(
        &self,
        store: StoreKind,
        replicas: usize,
        s3: Option<&super::s3::S3Server>,
    ) -> Config {
        let bucket = format!("load-{}-{replicas}", self.run_tag);
        let shared_dir = tempfile::tempdir().expect("temp dir");
        let shared = shared_dir.path().to_path_buf();
        let mut servers = Vec::new();
        for _ in 0..replicas {
            let server = self.servers.block_on(async {
                let on = match (store, s3) {
                    (StoreKind::S3, Some(s3)) => {
                        if servers.is_empty() {
                            s3.create_bucket(&bucket).await;
                        }
                        let location =
                            saoy::store::S3Location::parse(&format!("s3://{bucket}/saoy"))
                                .expect("S3 location");
                        let options = match self.options.s3_raw {
                            true => s3.raw_options(),
                            false => s3.options(),
                        };
                        let store = saoy::store::S3Store::connect(location, &options)
                            .await
                            .expect("S3 store");
                        Some(Arc::new(store) as Arc<dyn saoy::store::ObjectStore>)
                    }
                    _ => None,
                };
                let dir = shared.clone();
                // s3s-fs alone does not make conditional PUTs atomic: the probe accepts it
                // only for one replica.
                let single = self.options.s3_raw;
                super::server::start_on(on, move |c| {
                    c.store.single_replica = single;
                    c.server.requests_per_second = 1_000_000;
                    c.server.max_concurrent_calls = 100_000;
                    c.data_dir = dir;
                })
                .await
            });
            servers.push(server);
        }
        let urls: Vec<String> = servers.iter().map(|s| s.url()).collect();
        let (ids, copies) = self.make_copies(&urls);
        let baseline = self.options.baseline.then(|| {
            let map = ids.iter().cloned().zip(copies.iter().cloned()).collect();
            self.servers.block_on(start_baseline(map))
        });
        let baseline_url = baseline
            .as_ref()
            .map(|b| format!("https://localhost:{}", b.port));
        Config {
            _servers: servers,
            _baseline: baseline,
            _dir: shared_dir,
            store,
            replicas,
            urls,
            copies,
            ids,
            baseline_url,
            s3_pid: s3.filter(|_| store == StoreKind::S3).and_then(|s| s.pid()),
        }
    }

    /// Certifies `options.copies` copies (4 at a time, spread over the replicas) and reads
    /// each one's bytes back; also warms every server up.
    fn make_copies(&self, urls: &[String]) -> (Vec<String>, Vec<Bytes>) {
        let n = self.options.copies.max(urls.len());
        let files = Arc::new(upload_messages(&self.upload));
        let tag = format!("{}-prep-{}", self.run_tag, urls.len());
        self.clients.block_on(async {
            let mut ids = Vec::new();
            let mut copies = Vec::new();
            for batch in (0..n).collect::<Vec<_>>().chunks(4) {
                let mut tasks = tokio::task::JoinSet::new();
                for &i in batch {
                    let (url, files, tag) =
                        (urls[i % urls.len()].clone(), files.clone(), tag.clone());
                    tasks.spawn(async move {
                        let mut messages = vec![CertifyRequest {
                            part: Some(pb::certify_request::Part::Request(client::meta(
                                &format!("load-{tag}-{i}"),
                                1,
                            ))),
                        }];
                        messages.extend(files.iter().cloned());
                        let record = client::certify(&url, messages)
                            .await
                            .expect("prepare a copy");
                        let (_, bytes) = client::get_copy(&url, &record.id).await.expect("read it");
                        (record.id, Bytes::from(bytes))
                    });
                }
                while let Some(done) = tasks.join_next().await {
                    let (id, bytes) = done.expect("prepare task");
                    ids.push(id);
                    copies.push(bytes);
                }
            }
            (ids, copies)
        })
    }

    /// Shuts down one configuration's servers and baseline.
    fn stop(&self, config: Config) {
        let _guard = self.servers.enter();
        drop(config);
    }

    fn work(&self, config: &Config, scenario: Scenario, tag: String, strict: bool) -> Arc<Work> {
        Arc::new(Work {
            scenario,
            files: upload_messages(&self.upload),
            verify: config.copies.iter().map(verify_messages).collect(),
            ids: config.ids.clone(),
            tag,
            strict,
        })
    }

    fn timed(
        &self,
        config: &Config,
        urls: &[String],
        work: Arc<Work>,
        concurrency: usize,
    ) -> Measure {
        let calls = self.options.calls_for(concurrency);
        reset_peak();
        let before = sample(config.s3_pid);
        let (elapsed, outcomes) =
            self.clients
                .block_on(drive(urls, work, concurrency, calls, self.options.seconds));
        let after = sample(config.s3_pid);
        let res = resources(&before, &after, outcomes.len(), self.hz);
        measure(elapsed, outcomes, res)
    }

    /// One scenario at one concurrency: saoy, then the baseline with the same bytes.
    fn step(&self, config: &Config, scenario: Scenario, concurrency: usize) -> Step {
        let tag = format!(
            "{}-{}-{}-{}-{concurrency}",
            self.run_tag,
            config.store.name(),
            config.replicas,
            scenario.name()
        );
        let saoy = self.timed(
            config,
            &config.urls,
            self.work(config, scenario, tag.clone(), true),
            concurrency,
        );
        let baseline = config.baseline_url.as_ref().map(|url| {
            let work = self.work(config, scenario, format!("{tag}-base"), false);
            self.timed(config, std::slice::from_ref(url), work, concurrency)
        });
        let ratio = baseline.as_ref().map(|b| Ratio {
            p50: saoy.latency_ms.p50 / b.latency_ms.p50.max(1e-9),
            p99: saoy.latency_ms.p99 / b.latency_ms.p99.max(1e-9),
            throughput: b.throughput_per_s / saoy.throughput_per_s.max(1e-9),
        });
        Step {
            scenario,
            store: config.store,
            replicas: config.replicas,
            concurrency,
            saoy,
            baseline,
            ratio,
        }
    }
}

fn headlines(options: &Options, steps: &[Step]) -> Vec<Headline> {
    let low = options.concurrency.iter().copied().min().unwrap_or(1);
    let top = options.concurrency.iter().copied().max().unwrap_or(1);
    let mut out = Vec::new();
    for &store in &options.stores {
        for &replicas in &options.replicas {
            let of = |s: &&Step| s.store == store && s.replicas == replicas;
            let verify_p50_ms = steps
                .iter()
                .filter(of)
                .find(|s| s.scenario == Scenario::Verify && s.concurrency == low)
                .map(|s| (low, s.saoy.latency_ms.p50));
            let at_top = steps
                .iter()
                .filter(of)
                .filter(|s| s.concurrency == top)
                .map(|s| TopFigure {
                    scenario: s.scenario,
                    concurrency: top,
                    throughput_per_s: s.saoy.throughput_per_s,
                    p99_ms: s.saoy.latency_ms.p99,
                    ratio: s.ratio.as_ref().map(|r| Ratio {
                        p50: r.p50,
                        p99: r.p99,
                        throughput: r.throughput,
                    }),
                })
                .collect();
            out.push(Headline {
                store,
                replicas,
                verify_p50_ms,
                at_top,
            });
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Output.

fn errors_text(m: &Measure) -> String {
    match m.errors.is_empty() {
        true => "-".into(),
        false => m
            .errors
            .iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect::<Vec<_>>()
            .join(","),
    }
}

/// The table's header line.
pub fn table_header() -> String {
    format!(
        "{:<8} {:<5} {:>3} {:>4} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} | {:>9} {:>8} {:>8} | {:>6} {:>6} {:>6}  errors",
        "scenario",
        "store",
        "rep",
        "conc",
        "calls",
        "calls/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "cpu ms",
        "rss MiB",
        "base/s",
        "b p50",
        "b p99",
        "x p50",
        "x p99",
        "x tput"
    )
}

/// One step as a line of the table.
pub fn table_line(s: &Step) -> String {
    let m = &s.saoy;
    let (b_tp, b50, b99) = s.baseline.as_ref().map_or((0.0, 0.0, 0.0), |b| {
        (b.throughput_per_s, b.latency_ms.p50, b.latency_ms.p99)
    });
    let (x50, x99, xt) = s
        .ratio
        .as_ref()
        .map_or((0.0, 0.0, 0.0), |r| (r.p50, r.p99, r.throughput));
    format!(
        "{:<8} {:<5} {:>3} {:>4} {:>5} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.2} {:>7.0} | {:>9.1} {:>8.2} {:>8.2} | {:>6.1} {:>6.1} {:>6.1}  {}",
        s.scenario.name(),
        s.store.name(),
        s.replicas,
        s.concurrency,
        m.calls,
        m.throughput_per_s,
        m.latency_ms.p50,
        m.latency_ms.p90,
        m.latency_ms.p99,
        m.latency_ms.max,
        m.resources.server_cpu_ms_per_call,
        m.resources.peak_rss_mib,
        b_tp,
        b50,
        b99,
        x50,
        x99,
        xt,
        errors_text(m)
    )
}

fn print_step(step: &Step) {
    static HEADER: std::sync::Once = std::sync::Once::new();
    HEADER.call_once(|| println!("{}", table_header()));
    println!("{}", table_line(step));
}

fn write(report: &Report, out: &Path) {
    std::fs::create_dir_all(out).expect("output directory");
    let json = serde_json::to_string_pretty(report).expect("report as JSON");
    std::fs::write(out.join("report.json"), json).expect("write report.json");
    super::load_plot::svg(report, &out.join("latency.svg")).expect("write latency.svg");
}
