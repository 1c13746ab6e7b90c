//! A real S3 server for tests: s3s-fs (checks SigV4) as a child process on 127.0.0.1 with
//! a free port, a temp directory and fresh access keys. A missing binary fails the test with
//! a message saying how to install it; nothing is skipped.
//!
//! s3s-fs 0.14.1 honours `If-None-Match: *` one request at a time but not under
//! concurrency: it checks that the key is absent, writes a temp file and renames it over the
//! key, so racing conditional PUTs of one key all succeed (20 of 20 in
//! `tests/store_s3.rs`). AWS S3 and MinIO make the check and the write one atomic step.
//! [`S3Server::endpoint`] therefore goes through a small HTTP proxy that forwards every
//! request unchanged (SigV4 is still checked by s3s-fs) but lets only one conditional PUT
//! through at a time, which gives s3s-fs the atomicity real servers have;
//! [`S3Server::raw_endpoint`] is s3s-fs itself, which saoy's start-up probe refuses.
//!
//! With `SAOY_TEST_S3_ENDPOINT` set (see `scripts/test-s3`), [`S3Server::start`] uses that
//! server instead — MinIO, AWS S3, Garage, … — with the keys in `SAOY_TEST_S3_ACCESS_KEY` /
//! `SAOY_TEST_S3_SECRET_KEY` and the region in `SAOY_TEST_S3_REGION` (default us-east-1):
//! both endpoints are then that server, and a test that must stop the server fails saying so.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use saoy::store::{S3Credentials, S3Location, S3Options, S3Store};

/// The line s3s-fs logs once it listens.
const READY: &str = "server is running at http://";

/// A running s3s-fs (killed when dropped) and its serialising proxy.
pub struct S3Server {
    child: Option<Child>,
    /// `http://127.0.0.1:PORT` of the proxy: conditional writes are atomic here.
    pub endpoint: String,
    /// `http://127.0.0.1:PORT` of s3s-fs itself: racing conditional writes all succeed.
    pub raw_endpoint: String,
    /// The port, kept for a restart on the same address.
    pub port: u16,
    /// Where s3s-fs keeps buckets (one folder each).
    pub dir: tempfile::TempDir,
    /// Access key id it accepts.
    pub access_key: String,
    /// Secret key it accepts.
    pub secret_key: String,
    /// The region to sign for.
    pub region: String,
    /// True when the server is one the operator runs (`SAOY_TEST_S3_ENDPOINT`).
    pub external: bool,
}

fn spawn(
    dir: &std::path::Path,
    port: u16,
    access: &str,
    secret: &str,
) -> Result<(Child, u16), String> {
    let mut child = Command::new("s3s-fs")
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--access-key", access, "--secret-key", secret])
        .arg(dir)
        .env("RUST_LOG", "s3s_fs=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start s3s-fs ({e}): the S3 tests need it. Run scripts/test, which \
                 installs it with `cargo install s3s-fs --version 0.14.1 --features binary --locked`"
            )
        });
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent && let Some(at) = line.find(READY) {
                let port = line[at + READY.len()..]
                    .trim()
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.trim_end_matches('/').parse::<u16>().ok());
                let _ = tx.send(port);
                sent = true;
            }
            // Keep draining so the server never blocks on a full pipe.
        }
    });
    match rx.recv_timeout(Duration::from_secs(20)) {
        Ok(Some(port)) => Ok((child, port)),
        other => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!(
                "s3s-fs did not report its address within 20 s: {other:?}"
            ))
        }
    }
}

impl S3Server {
    /// Starts s3s-fs on 127.0.0.1 with a free port, or uses the operator's server named by
    /// `SAOY_TEST_S3_ENDPOINT`.
    pub fn start() -> Self {
        if let Some(external) = Self::external() {
            return external;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        let access_key = format!("AKSAOY{:010X}", rand::random::<u64>() >> 24);
        let secret_key = format!("{:032x}", rand::random::<u128>());
        let (child, port) =
            spawn(dir.path(), 0, &access_key, &secret_key).unwrap_or_else(|e| panic!("{e}"));
        let proxy = proxy::start(([127, 0, 0, 1], port).into());
        Self {
            child: Some(child),
            endpoint: format!("http://{proxy}"),
            raw_endpoint: format!("http://127.0.0.1:{port}"),
            port,
            dir,
            access_key,
            secret_key,
            region: "us-east-1".into(),
            external: false,
        }
    }

    /// The operator's server of `SAOY_TEST_S3_ENDPOINT`, if set.
    fn external() -> Option<Self> {
        let endpoint = std::env::var("SAOY_TEST_S3_ENDPOINT").ok()?;
        let key = |name: &str| {
            std::env::var(name).unwrap_or_else(|_| {
                panic!("SAOY_TEST_S3_ENDPOINT is set: set {name} too (see scripts/test-s3)")
            })
        };
        Some(Self {
            child: None,
            endpoint: endpoint.clone(),
            raw_endpoint: endpoint,
            port: 0,
            dir: tempfile::tempdir().expect("temp dir"),
            access_key: key("SAOY_TEST_S3_ACCESS_KEY"),
            secret_key: key("SAOY_TEST_S3_SECRET_KEY"),
            region: std::env::var("SAOY_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
            external: true,
        })
    }

    /// The s3s-fs process id while it runs (the load harness samples its CPU and RSS).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server (an outage); the data stays.
    pub fn stop(&mut self) {
        assert!(
            !self.external,
            "this test stops the S3 server: it cannot run against the external server of SAOY_TEST_S3_ENDPOINT"
        );
        self.kill_child();
    }

    fn kill_child(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data after [`S3Server::stop`].
    pub fn restart(&mut self) {
        self.stop();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            // The port may linger briefly after the kill.
            match spawn(
                self.dir.path(),
                self.port,
                &self.access_key,
                &self.secret_key,
            ) {
                Ok((child, _)) => {
                    self.child = Some(child);
                    return;
                }
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("restarting s3s-fs: {e}"),
            }
        }
    }

    /// saoy's S3 options for this server (explicit keys, no environment needed), through
    /// the proxy.
    pub fn options(&self) -> S3Options {
        self.options_at(&self.endpoint)
    }

    /// saoy's S3 options for s3s-fs itself, without the proxy.
    pub fn raw_options(&self) -> S3Options {
        self.options_at(&self.raw_endpoint)
    }

    fn options_at(&self, endpoint: &str) -> S3Options {
        S3Options {
            endpoint_url: Some(endpoint.to_string()),
            region: Some(self.region.clone()),
            force_path_style: true,
            credentials: Some(S3Credentials {
                access_key_id: self.access_key.clone(),
                secret_access_key: self.secret_key.clone(),
            }),
            max_attempts: 3,
            connect_timeout: Duration::from_secs(2),
            attempt_timeout: Duration::from_secs(30),
        }
    }

    /// The AWS environment a saoy child process needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_REGION", self.region.clone()),
            ("AWS_ACCESS_KEY_ID", self.access_key.clone()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.clone()),
            // Never look for instance metadata (a non-loopback address) in tests.
            ("AWS_EC2_METADATA_DISABLED", "true".into()),
            ("AWS_CONFIG_FILE", "/dev/null".into()),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null".into()),
        ]
    }

    /// Creates a bucket with a plain aws-sdk-s3 client (not through saoy).
    pub async fn create_bucket(&self, bucket: &str) {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(Region::new(self.region.clone()))
            .credentials_provider(Credentials::new(
                &self.access_key,
                &self.secret_key,
                None,
                None,
                "test",
            ))
            .force_path_style(true)
            .http_client(match self.endpoint.starts_with("https://") {
                true => aws_smithy_http_client::Builder::new()
                    .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
                    ))
                    .build_https(),
                false => aws_smithy_http_client::Builder::new().build_http(),
            })
            .build();
        aws_sdk_s3::Client::from_conf(config)
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create bucket");
    }

    /// A fresh bucket and a saoy [`S3Store`] on it under `prefix` (e.g. `""` or `"p/"`),
    /// through the proxy.
    pub async fn store(&self, prefix: &str) -> S3Store {
        self.store_with(prefix, &self.options()).await
    }

    /// Like [`S3Server::store`] but straight to s3s-fs.
    pub async fn raw_store(&self, prefix: &str) -> S3Store {
        self.store_with(prefix, &self.raw_options()).await
    }

    async fn store_with(&self, prefix: &str, options: &S3Options) -> S3Store {
        let bucket = format!("saoy-{:016x}", rand::random::<u64>());
        self.create_bucket(&bucket).await;
        let location =
            S3Location::parse(&format!("s3://{bucket}/{prefix}")).expect("test location");
        let store = S3Store::connect(location, options).await.expect("connect");
        store.check_bucket().await.expect("bucket reachable");
        store
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.kill_child();
    }
}

/// The proxy that lets one conditional PUT through at a time.
mod proxy {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::sync::Arc;

    use hyper::body::Incoming;
    use hyper::{Method, Request, Response, StatusCode};
    use hyper_util::rt::TokioIo;
    use tokio::net::{TcpListener, TcpStream};
    use tokio::sync::Mutex;

    type Body = http_body_util::Either<Incoming, String>;

    /// Starts the proxy to `upstream` on 127.0.0.1 (own thread and runtime, so it outlives
    /// any test runtime) and returns its address.
    pub fn start(upstream: SocketAddr) -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
                tx.send(listener.local_addr().expect("proxy address"))
                    .expect("report proxy address");
                let gate = Arc::new(Mutex::new(()));
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        continue;
                    };
                    let gate = Arc::clone(&gate);
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |req| {
                            forward(req, upstream, Arc::clone(&gate))
                        });
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(socket), service)
                            .await;
                    });
                }
            });
        });
        rx.recv().expect("proxy started")
    }

    async fn forward(
        req: Request<Incoming>,
        upstream: SocketAddr,
        gate: Arc<Mutex<()>>,
    ) -> Result<Response<Body>, Infallible> {
        let conditional = req.method() == Method::PUT
            && (req.headers().contains_key("if-none-match")
                || req.headers().contains_key("if-match"));
        // Held until s3s-fs has answered, i.e. finished the write.
        let _turn = if conditional {
            Some(gate.lock().await)
        } else {
            None
        };
        let unavailable = |what: String| {
            let mut response = Response::new(Body::Right(what));
            *response.status_mut() = StatusCode::BAD_GATEWAY;
            Ok(response)
        };
        let stream = match TcpStream::connect(upstream).await {
            Ok(s) => s,
            Err(e) => return unavailable(format!("s3s-fs unreachable: {e}")),
        };
        let (mut sender, connection) =
            match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await {
                Ok(pair) => pair,
                Err(e) => return unavailable(format!("s3s-fs handshake: {e}")),
            };
        tokio::spawn(connection);
        match sender.send_request(req).await {
            Ok(response) => Ok(response.map(Body::Left)),
            Err(e) => unavailable(format!("s3s-fs: {e}")),
        }
    }
}
