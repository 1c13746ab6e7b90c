//! The `saoy` command line: serve, certify, verify, pki.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand, ValueEnum};
use saoy::app::App;
use saoy::app::batch::{self, BatchOptions, DocumentResult, Step};
use saoy::config::Config;
use saoy::digitize::ocr::Tesseract;
use saoy::digitize::{DigitizeOptions, PolicyBook};
use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::{CertifyMetadata, CertifyRequest, FileHeader, certify_request::Part};
use saoy::verify::verify_file;

#[derive(Parser)]
#[command(
    name = "saoy",
    version,
    about = "Electronic certified copies (sao y bản chính): certify, sign, store, verify"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the gRPC service (embedded local store by default).
    Serve {
        /// Listen address (overrides the config file).
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        /// Data directory of the local store (overrides the config file).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Object store: s3://BUCKET[/prefix] (endpoint, region and keys from AWS_ENDPOINT_URL,
        /// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or a directory; overrides
        /// the config file's store.url.
        #[arg(long)]
        store: Option<String>,
        /// TOML config file; without it the TEST PKI in ./certs-test is used.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address of the public HTTP listener (the verification page the QR codes lead
        /// to; default 127.0.0.1:50080; overrides the config file's http.listen).
        #[arg(long)]
        http_listen: Option<std::net::SocketAddr>,
        /// Address of the metrics listener (`GET /metrics`, Prometheus text; default
        /// 127.0.0.1:50091; overrides the config file's metrics.listen). Never the public
        /// HTTP listener's.
        #[arg(long)]
        metrics_listen: Option<std::net::SocketAddr>,
        /// Address of the in-process TEST PKI services (CRLs, TSA) on the TEST PKI (default
        /// 127.0.0.1:50070; overrides the config file's pki.listen).
        #[arg(long)]
        pki_listen: Option<std::net::SocketAddr>,
    },
    /// The certification book (sổ chứng thực).
    Book {
        #[command(subcommand)]
        action: BookAction,
    },
    /// An agency's figures over a period: copies issued, refused (by reason), revoked,
    /// voided, pages, by document type and by procedure code.
    Report {
        /// Agency e-identifier.
        #[arg(long)]
        agency: String,
        /// First day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ReportFormat,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// The audit log: verify its chains, show entries.
    Audit {
        #[command(subcommand)]
        action: saoy::audit::cli::AuditAction,
    },
    /// The object store: consistency checks.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Certifies an original through a running server and writes the signed copy.
    Certify {
        /// Files of the original, in page order (JPEG, PNG, TIFF — every page of a
        /// multi-page TIFF —, PDF).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
        /// Owner's 12-digit personal identification number.
        #[arg(long)]
        owner: String,
        /// Document type, e.g. "Giấy khai sinh".
        #[arg(long)]
        doc_type: String,
        /// Document title (defaults to the document type).
        #[arg(long)]
        doc_name: Option<String>,
        /// Procedure code, e.g. 2.000815.
        #[arg(long, default_value = "2.000815")]
        procedure: String,
        /// Pages counted on the original (defaults to what the files hold).
        #[arg(long)]
        pages: Option<u32>,
        /// Idempotency key (a new random one by default).
        #[arg(long)]
        request_id: Option<String>,
        /// Accept scans under the minimum resolution.
        #[arg(long)]
        allow_low_resolution: bool,
        /// The agency's certifier who certifies (their id in the configuration; empty: the
        /// agency's first).
        #[arg(long, default_value = "")]
        certifier: String,
        /// Where to write the signed copy.
        #[arg(long)]
        out: PathBuf,
    },
    /// Signs, with the certifier's own key, every copy awaiting this certifier's signature
    /// (the key stays here; only signature values go to the server).
    SignPending {
        /// PEM file of the certifier's signing certificate (copies awaiting another
        /// certificate are left alone).
        #[arg(long)]
        signer_cert: PathBuf,
        /// The signing key: a PKCS#8 PEM file, or a PKCS#11 URI
        /// (`pkcs11:token=…;object=…?module-path=…&pin-source=file:…`).
        #[arg(long)]
        signer_key: String,
        /// Connection: the certifier's TLS identity by default.
        #[command(flatten)]
        client: CertifierClientArgs,
    },
    /// Digitises a directory of scans into PDF/A files (back office); resumable.
    Digitize(DigitizeArgs),
    /// Verifies the signatures of a PDF offline; exit code 0 only when PASSED.
    Verify {
        /// The PDF.
        file: PathBuf,
        /// PEM files of trust anchors (one or more certificates each). Without any (and
        /// without --trust-dir) nothing is trusted: every signature is still checked for
        /// integrity and its signer named, and the result is at best INDETERMINATE /
        /// NO_CERTIFICATE_CHAIN_FOUND.
        #[arg(long = "trust")]
        trust: Vec<PathBuf>,
        /// Directories of trust anchor files (*.pem, *.crt, *.cer, *.der; a `Reason:` line
        /// or a NAME.reason file says why each is trusted).
        #[arg(long = "trust-dir")]
        trust_dir: Vec<PathBuf>,
        /// CRL files (DER or PEM).
        #[arg(long = "crl")]
        crl: Vec<PathBuf>,
        /// Validation time (RFC 3339); now by default.
        #[arg(long)]
        at: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Validates one certificate's path (RFC 5280, the PDF verifier's validator); exit
    /// code 0 only when valid.
    VerifyCert(saoy::app::verify_cert::VerifyCertArgs),
    /// Test PKI management.
    Pki {
        #[command(subcommand)]
        action: PkiAction,
    },
}

/// How a client command reaches the server: mutual TLS with the test PKI's CA and the
/// clerk's pair by default.
#[derive(Args)]
struct ClientArgs {
    /// Server URL (`https://` for TLS, `http://` for a plaintext server).
    #[arg(long, default_value = saoy::client::DEFAULT_SERVER)]
    server: String,
    /// PEM file of the CA that issued the server's certificate.
    #[arg(long, default_value = "certs-test/tls/ca.pem")]
    tls_ca: PathBuf,
    /// PEM file of your client certificate.
    #[arg(long, default_value = "certs-test/tls/clerk.pem")]
    cert: PathBuf,
    /// PEM file of your client private key.
    #[arg(long, default_value = "certs-test/tls/clerk.key.pem")]
    key: PathBuf,
}

impl ClientArgs {
    async fn channel(&self) -> Result<tonic::transport::Channel, String> {
        let tls = saoy::client::ClientTls {
            ca: self.tls_ca.clone(),
            cert: Some(self.cert.clone()),
            key: Some(self.key.clone()),
        };
        saoy::client::connect(&self.server, &tls)
            .await
            .map_err(|e| {
                format!("{e} (is `saoy serve` running there? start it in another terminal)")
            })
    }
}

/// How `sign-pending` reaches the server: as `ClientArgs`, with the certifier's pair by
/// default.
#[derive(Args)]
struct CertifierClientArgs {
    /// Server URL (`https://` for TLS, `http://` for a plaintext server).
    #[arg(long, default_value = saoy::client::DEFAULT_SERVER)]
    server: String,
    /// PEM file of the CA that issued the server's certificate.
    #[arg(long, default_value = "certs-test/tls/ca.pem")]
    tls_ca: PathBuf,
    /// PEM file of the certifier's TLS client certificate.
    #[arg(long, default_value = "certs-test/tls/certifier.pem")]
    cert: PathBuf,
    /// PEM file of the certifier's TLS client key.
    #[arg(long, default_value = "certs-test/tls/certifier.key.pem")]
    key: PathBuf,
}

impl CertifierClientArgs {
    fn client(self) -> ClientArgs {
        ClientArgs {
            server: self.server,
            tls_ca: self.tls_ca,
            cert: self.cert,
            key: self.key,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
    /// ETSI TS 119 102-2 XML validation report.
    EtsiXml,
}

#[derive(Subcommand)]
enum BookAction {
    /// Prints one agency's book for one year as CSV, by number (for the monthly printout).
    Export {
        /// Agency e-identifier, e.g. H72.21.01.
        #[arg(long)]
        agency: String,
        /// Year of the book.
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Opens the agency's next book of this year; its numbers continue from the last one
    /// taken (NĐ 23/2015 Art. 13(2)); every replica uses it from its next number.
    OpenNext {
        /// Agency e-identifier.
        #[arg(long)]
        agency: String,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Prints one month of the agency's book as a PDF/A signed with the agency's key (the
    /// monthly printout of NĐ 23/2015 Art. 13(3)); no server needed.
    Print {
        /// Agency e-identifier.
        #[arg(long)]
        agency: String,
        /// The month, YYYY-MM.
        #[arg(long)]
        month: String,
        /// Where to write the PDF.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        location: StoreArgs,
    },
    /// Closes the agency's book of a finished year: the year's book with its total, signed
    /// and kept beside the months; no number can be taken in that year afterwards.
    Close {
        /// Agency e-identifier.
        #[arg(long)]
        agency: String,
        /// The year (after its 31 December).
        #[arg(long)]
        year: i32,
        #[command(flatten)]
        location: StoreArgs,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Csv,
    Json,
}

/// Which store an offline command works on.
#[derive(Args)]
struct StoreArgs {
    /// Data directory of a local store.
    #[arg(long, conflicts_with = "store")]
    data: Option<PathBuf>,
    /// Object store: s3://BUCKET[/prefix] or a directory.
    #[arg(long)]
    store: Option<String>,
    /// TOML config file (for the store settings).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl StoreArgs {
    /// The configuration and the store these arguments name.
    async fn config_and_store(
        self,
    ) -> Result<(Config, std::sync::Arc<dyn saoy::store::ObjectStore>), String> {
        let config = load_config(self.config.as_deref(), self.data, self.store)?;
        let store = saoy::app::open_store(&config)
            .await
            .map_err(|e| e.to_string())?;
        Ok((config, store))
    }

    /// Opens the store these arguments name (config file, then --data / --store).
    async fn open(self) -> Result<std::sync::Arc<dyn saoy::store::ObjectStore>, String> {
        let config = load_config(self.config.as_deref(), self.data, self.store)?;
        saoy::app::open_store(&config)
            .await
            .map_err(|e| e.to_string())
    }
}

#[derive(Subcommand)]
enum StoreAction {
    /// Finds leftovers of interrupted writes (dangling records, orphan objects, dangling
    /// index entries, abandoned reservations); exit 0 when clean, 1 when problems were found.
    Check {
        /// Delete orphans and dangling index entries, void abandoned reservations (records
        /// are never deleted).
        #[arg(long)]
        repair: bool,
        /// Seconds after which a reservation or copy without a record counts as abandoned.
        #[arg(long, default_value_t = 600)]
        grace_secs: u64,
        #[command(flatten)]
        location: StoreArgs,
    },
}

#[derive(Subcommand)]
enum PkiAction {
    /// Regenerates the TEST-ONLY CA hierarchy (root, issuing CA, two agencies H72.21.01 and
    /// H72.21.02 with a certifier each, CRLs) and its TLS material under OUT/tls.
    Init {
        /// Output directory.
        #[arg(long, default_value = "certs-test")]
        out: PathBuf,
    },
    /// Regenerates only the TEST-ONLY TLS material (TLS CA, server, client pairs, CRL).
    InitTls {
        /// Output directory.
        #[arg(long, default_value = "certs-test/tls")]
        out: PathBuf,
    },
    /// Serves the TEST PKI over HTTP: its CRLs (`/crl/issuing-ca.crl`, `/crl/root.crl`) and
    /// a TSA (`POST /tsa`, RFC 3161) signing with DIR/tsa.key.pem, until stopped.
    Serve {
        /// Listen address.
        #[arg(long, default_value = saoy::pkiserve::DEFAULT_PKI_LISTEN)]
        listen: std::net::SocketAddr,
        /// The test hierarchy's directory.
        #[arg(long, default_value = "certs-test")]
        dir: PathBuf,
    },
    /// Adds the test TSA (`tsa.pem`, `tsa.key.pem`, `tsa-chain.pem`, issued by the issuing
    /// CA) to the test hierarchy in DIR, leaving every other file as it is.
    AddTsa {
        /// The test hierarchy's directory.
        #[arg(long, default_value = "certs-test")]
        dir: PathBuf,
    },
    /// Prints a citizen assertion (compact JWS for `x-saoy-citizen`) signed with the test
    /// portal's key, and nothing else.
    CitizenToken {
        /// The citizen's 12-digit personal identification number.
        #[arg(long)]
        owner: String,
        /// Lifetime, e.g. 5m, 90s, 10m (at most 10m); negative mints an expired one.
        #[arg(long, default_value = "5m", allow_hyphen_values = true)]
        ttl: String,
        /// The portal's certificate (its CN becomes `iss`).
        #[arg(long, default_value = "certs-test/tls/portal.pem")]
        cert: PathBuf,
        /// The portal's PKCS#8 P-256 key.
        #[arg(long, default_value = "certs-test/tls/portal.key.pem")]
        key: PathBuf,
    },
}

/// mimalloc instead of the system allocator: verification and assembly build many small PDF
/// objects, and glibc's malloc/free were ~15 % of a verification.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The `[log]` format of the config file `serve` is given (read before anything logs);
/// text when there is none or it cannot be read (the loader reports the file's problems).
fn log_format(cli: &Cli) -> saoy::metrics::LogFormat {
    #[derive(serde::Deserialize, Default)]
    struct LogOnly {
        #[serde(default)]
        log: saoy::metrics::LogConfig,
    }
    let Command::Serve {
        config: Some(path), ..
    } = &cli.command
    else {
        return saoy::metrics::LogFormat::default();
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| toml::from_str::<LogOnly>(&text).ok())
        .unwrap_or_default()
        .log
        .format
}

/// Installs the log subscriber: level from `RUST_LOG` (default `info`), text or JSON lines
/// on standard error.
fn init_logging(format: saoy::metrics::LogFormat) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        saoy::metrics::LogFormat::Json => builder.json().init(),
        saoy::metrics::LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(log_format(&cli));
    let result = match cli.command {
        Command::Serve {
            listen,
            data,
            store,
            config,
            http_listen,
            metrics_listen,
            pki_listen,
        } => run_async(serve(
            listen,
            data,
            store,
            config,
            [http_listen, metrics_listen, pki_listen],
        )),
        Command::Book { action } => run_async(book(action)),
        Command::Report {
            agency,
            from,
            to,
            format,
            location,
        } => run_async(report(agency, from, to, format, location)),
        Command::Audit { action } => run_async(audit(action)),
        Command::Store {
            action:
                StoreAction::Check {
                    repair,
                    grace_secs,
                    location,
                },
        } => run_async(store_check(repair, grace_secs, location)),
        Command::Certify {
            files,
            client,
            owner,
            doc_type,
            doc_name,
            procedure,
            pages,
            request_id,
            allow_low_resolution,
            certifier,
            out,
        } => run_async(certify(CertifyArgs {
            certifier,
            files,
            client,
            owner,
            doc_name: doc_name.unwrap_or_else(|| doc_type.clone()),
            doc_type,
            procedure,
            pages,
            request_id,
            allow_low_resolution,
            out,
        })),
        Command::Verify {
            file,
            trust,
            trust_dir,
            crl,
            at,
            format,
        } => verify(&file, &trust, &trust_dir, &crl, at.as_deref(), format),
        Command::Digitize(args) => Ok(digitize_batch(args)),
        Command::SignPending {
            signer_cert,
            signer_key,
            client,
        } => run_async(sign_pending(signer_cert, signer_key, client.client())),
        Command::VerifyCert(args) => saoy::app::verify_cert::run(&args, &saoy::clock::SystemClock),
        Command::Pki {
            action: PkiAction::Init { out },
        } => saoy::pki::testca::generate(&out)
            .and_then(|()| saoy::pki::testca_tsa::add_tsa(&out))
            .and_then(|()| saoy::pki::testca_tls::generate_tls(&out.join("tls")))
            .map(|()| {
                eprintln!("wrote the TEST-ONLY PKI to {}", out.display());
                ExitCode::SUCCESS
            })
            .map_err(|e| e.to_string()),
        Command::Pki {
            action: PkiAction::Serve { listen, dir },
        } => run_async(pki_serve(listen, dir)),
        Command::Pki {
            action: PkiAction::AddTsa { dir },
        } => saoy::pki::testca_tsa::add_tsa(&dir)
            .map(|()| {
                eprintln!("wrote the TEST-ONLY TSA to {}", dir.display());
                ExitCode::SUCCESS
            })
            .map_err(|e| e.to_string()),
        Command::Pki {
            action: PkiAction::InitTls { out },
        } => saoy::pki::testca_tls::generate_tls(&out)
            .map(|()| {
                eprintln!("wrote the TEST-ONLY TLS material to {}", out.display());
                ExitCode::SUCCESS
            })
            .map_err(|e| e.to_string()),
        Command::Pki {
            action:
                PkiAction::CitizenToken {
                    owner,
                    ttl,
                    cert,
                    key,
                },
        } => citizen_token(&owner, &ttl, &cert, &key),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Writes `text` to stdout; a reader that went away (`saoy … | head`) ends the output
/// quietly instead of a panic (what `print!` does on a closed pipe).
fn print_quietly(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

fn run_async(
    fut: impl std::future::Future<Output = Result<ExitCode, String>>,
) -> Result<ExitCode, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?
        .block_on(fut)
}

/// Loads the config and applies the `--data` / `--store` overrides.
fn load_config(
    path: Option<&Path>,
    data: Option<PathBuf>,
    store: Option<String>,
) -> Result<Config, String> {
    let mut config = Config::load(path).map_err(|e| e.to_string())?;
    if let Some(d) = data {
        config.data_dir = d;
        config.store.url.clear();
    }
    if let Some(s) = store {
        config.store.url = s;
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// `saoy pki serve`: the TEST PKI's CRLs and TSA over HTTP until stopped.
async fn pki_serve(listen: std::net::SocketAddr, dir: PathBuf) -> Result<ExitCode, String> {
    let pki = saoy::pkiserve::TestPki::load(&dir, Arc::new(saoy::clock::SystemClock))
        .map_err(|e| e.to_string())?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    eprintln!(
        "saoy TEST PKI services at http://{addr} (/crl/issuing-ca.crl, /crl/root.crl, POST /tsa)"
    );
    saoy::pkiserve::serve(listener, Arc::new(pki))
        .await
        .map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(
    listen: Option<std::net::SocketAddr>,
    data: Option<PathBuf>,
    store: Option<String>,
    config_path: Option<PathBuf>,
    [http_listen, metrics_listen, pki_listen]: [Option<std::net::SocketAddr>; 3],
) -> Result<ExitCode, String> {
    let mut config = load_config(config_path.as_deref(), data, store)?;
    if let Some(l) = pki_listen {
        config.pki.listen = l;
    }
    if let Some(l) = listen {
        config.listen = l;
    }
    if let Some(l) = http_listen {
        config.http.listen = l;
    }
    if let Some(l) = metrics_listen {
        config.metrics.listen = l;
    }
    let http = match config.http.enabled {
        true => Some(saoy::web::bind(config.http.listen, &config.http).await?),
        false => None,
    };
    let metrics_listener = match config.metrics.enabled {
        true => Some(saoy::metrics::bind(config.metrics.listen).await?),
        false => None,
    };
    if config.using_test_pki {
        tracing::warn!(
            "USING THE TEST PKI in ./certs-test: its private keys are public. Copies signed now prove NOTHING. Configure real keys with --config for production."
        );
    }
    let listen = config.listen;
    let app = Arc::new(App::open(config).await.map_err(|e| e.to_string())?);
    let (listener, addr) = saoy::service::server::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%addr, store = %app.store_description(), "saoy serving gRPC");
    reload_trust_on_sighup(&app);
    let web = http.map(|l| saoy::web::start(Arc::clone(&app), l));
    let metrics = match metrics_listener {
        Some(l) => Some(saoy::metrics::serve(Arc::clone(app.metrics()), l)?),
        None => None,
    };
    saoy::service::serve(app, listener, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await
    .map_err(|e| e.to_string())?;
    if let Some(web) = web {
        web.stop().await;
    }
    if let Some(metrics) = metrics {
        metrics.stop().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// Re-reads `trust.anchors_dir` on every SIGHUP (Unix), for as long as the app lives.
#[cfg(unix)]
fn reload_trust_on_sighup(app: &Arc<App>) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangups = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; trust anchors reload on their interval only");
            return;
        }
    };
    let app = Arc::downgrade(app);
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            let Some(app) = app.upgrade() else {
                break;
            };
            tracing::info!("SIGHUP: re-reading the trust anchors");
            if let Err(e) = tokio::task::spawn_blocking(move || app.reload_trust()).await {
                tracing::error!(error = %e, "trust anchor reload task failed");
            }
        }
    });
}

#[cfg(not(unix))]
fn reload_trust_on_sighup(_: &Arc<App>) {}

/// `saoy book …`.
async fn book(action: BookAction) -> Result<ExitCode, String> {
    use saoy::app::books;
    let clock: std::sync::Arc<dyn saoy::clock::Clock> =
        std::sync::Arc::new(saoy::clock::SystemClock);
    match action {
        BookAction::Export {
            agency,
            year,
            location,
        } => book_export(agency, year, location).await,
        BookAction::OpenNext { agency, location } => {
            let (_, store) = location.config_and_store().await?;
            let opened = books::open_next_book(store, clock, &agency)
                .await
                .map_err(|e| e.to_string())?;
            print_quietly(&format!(
                "{}\n",
                serde_json::json!({"agency": opened.agency_code, "year": opened.year, "book": opened.book, "first_number": opened.first_number})
            ));
            Ok(ExitCode::SUCCESS)
        }
        BookAction::Print {
            agency,
            month,
            out,
            location,
        } => {
            let (config, store) = location.config_and_store().await?;
            let pdf = books::print_month(&config, store, clock, &agency, &month)
                .await
                .map_err(|e| e.to_string())?;
            std::fs::write(&out, pdf)
                .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
            eprintln!("wrote {} ({agency}, {month})", out.display());
            Ok(ExitCode::SUCCESS)
        }
        BookAction::Close {
            agency,
            year,
            location,
        } => {
            let (config, store) = location.config_and_store().await?;
            let (closing, made) = books::close_year(&config, store, clock, &agency, year)
                .await
                .map_err(|e| e.to_string())?;
            if !made {
                eprintln!(
                    "the book {agency}/{year} was already closed at {}; nothing new",
                    closing.closed_at
                );
            }
            print_quietly(&format!(
                "{}\n",
                serde_json::to_string(&closing).map_err(|e| e.to_string())?
            ));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `saoy report`.
async fn report(
    agency: String,
    from: String,
    to: String,
    format: ReportFormat,
    location: StoreArgs,
) -> Result<ExitCode, String> {
    use saoy::app::books;
    let from = books::parse_date(&from, "--from").map_err(|e| e.to_string())?;
    let to = books::parse_date(&to, "--to").map_err(|e| e.to_string())?;
    let (_, store) = location.config_and_store().await?;
    let r = books::report(store, &agency, from, to)
        .await
        .map_err(|e| e.to_string())?;
    let text = match format {
        ReportFormat::Csv => r.to_csv(),
        ReportFormat::Json => format!(
            "{}\n",
            serde_json::to_string_pretty(&r).map_err(|e| e.to_string())?
        ),
    };
    print_quietly(&text);
    Ok(ExitCode::SUCCESS)
}

async fn book_export(agency: String, year: i32, location: StoreArgs) -> Result<ExitCode, String> {
    let store = location.open().await?;
    let registry = saoy::records::Registry::new(store);
    let entries = registry
        .book_entries(&agency, year)
        .await
        .map_err(|e| e.to_string())?;
    let annex = registry
        .book_annex(&agency, year, &entries)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = String::new();
    saoy::records::write_book_csv_with(&entries, &annex, &mut out);
    print_quietly(&out);
    Ok(ExitCode::SUCCESS)
}

/// `saoy audit …`: opens the store like the other offline commands; the rest is
/// `saoy::audit::cli`.
async fn audit(action: saoy::audit::cli::AuditAction) -> Result<ExitCode, String> {
    let flags = action.location();
    let location = StoreArgs {
        data: flags.data.clone(),
        store: flags.store.clone(),
        config: flags.config.clone(),
    };
    saoy::audit::cli::run(action, location.open().await?).await
}

async fn store_check(
    repair: bool,
    grace_secs: u64,
    location: StoreArgs,
) -> Result<ExitCode, String> {
    use saoy::records::check::{CheckOptions, check_store};
    let store = location.open().await?;
    let options = CheckOptions {
        repair,
        grace: std::time::Duration::from_secs(grace_secs),
        now: saoy::clock::Clock::now(&saoy::clock::SystemClock),
    };
    let report = check_store(store, &options)
        .await
        .map_err(|e| e.to_string())?;
    print_quietly(&report.render());
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Seconds of a duration like `5m`, `90s`, `1h`, `-5m`.
fn parse_ttl(text: &str) -> Result<i64, String> {
    let t = text.trim();
    let (sign, t) = match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t),
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: i64 = digits
        .parse()
        .map_err(|_| format!("--ttl {text:?}: write a number with s, m or h, e.g. 5m"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("--ttl {text:?}: the unit must be s, m or h")),
    };
    Ok(sign * n * scale)
}

fn citizen_token(owner: &str, ttl: &str, cert: &Path, key: &Path) -> Result<ExitCode, String> {
    let ttl = parse_ttl(ttl)?;
    if ttl > saoy::identity::MAX_ASSERTION_LIFETIME_SECS {
        return Err(format!(
            "--ttl: at most {} seconds (10 minutes)",
            saoy::identity::MAX_ASSERTION_LIFETIME_SECS
        ));
    }
    let pem_text =
        std::fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    let der = pem::parse(pem_text)
        .map_err(|e| format!("{} is not PEM: {e}", cert.display()))?
        .into_contents();
    let holder = saoy::identity::profile::read_holder(&der).map_err(|e| e.to_string())?;
    let key_pem = std::fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let now = saoy::clock::Clock::now(&saoy::clock::SystemClock).unix_timestamp();
    let token =
        saoy::identity::mint(owner, &holder.name, &key_pem, now, ttl).map_err(|e| e.to_string())?;
    print_quietly(&format!("{token}\n"));
    Ok(ExitCode::SUCCESS)
}

struct CertifyArgs {
    files: Vec<PathBuf>,
    client: ClientArgs,
    owner: String,
    doc_type: String,
    doc_name: String,
    procedure: String,
    pages: Option<u32>,
    request_id: Option<String>,
    allow_low_resolution: bool,
    certifier: String,
    out: PathBuf,
}

fn media_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("tif" | "tiff") => "image/tiff",
        _ => "",
    }
}

async fn certify(args: CertifyArgs) -> Result<ExitCode, String> {
    let mut messages = Vec::new();
    let pages = match args.pages {
        Some(p) => p,
        None => count_pages(&args.files)?,
    };
    messages.push(CertifyRequest {
        part: Some(Part::Request(CertifyMetadata {
            owner_id: args.owner,
            document_type: args.doc_type,
            document_name: args.doc_name,
            procedure_code: args.procedure,
            page_count: pages,
            client_request_id: args
                .request_id
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            allow_low_resolution: args.allow_low_resolution,
            certifier: args.certifier,
        })),
    });
    let files = args.files.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::spawn(async move {
        for m in messages {
            if tx.send(m).await.is_err() {
                return;
            }
        }
        for path in files {
            let header = CertifyRequest {
                part: Some(Part::File(FileHeader {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    media_type: media_type(&path).into(),
                })),
            };
            if tx.send(header).await.is_err() {
                return;
            }
            let Ok(mut file) = tokio::fs::File::open(&path).await else {
                return;
            };
            let mut buf = vec![0u8; saoy::service::CHUNK_SIZE];
            loop {
                use tokio::io::AsyncReadExt;
                match file.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let chunk = CertifyRequest {
                            part: Some(Part::Chunk(buf[..n].to_vec())),
                        };
                        if tx.send(chunk).await.is_err() {
                            return;
                        }
                    }
                }
            }
        }
    });
    for f in &args.files {
        std::fs::metadata(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
    }
    let channel = args.client.channel().await?;
    let mut client = CertificationServiceClient::new(channel.clone());
    let record = client
        .certify(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    if let Some(p) = &record.pending {
        print_quietly(&format!(
            "{}\n",
            serde_json::json!({
                "id": record.id,
                "reference": record.reference,
                "status": record.status,
                "certifier": p.certifier,
                "deadline": p.deadline,
                "next": "the certifier signs it with `saoy sign-pending`",
            })
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let mut records = saoy::proto::record_service_client::RecordServiceClient::new(channel);
    let mut stream = records
        .get_copy(saoy::proto::GetCopyRequest {
            id: record.id.clone(),
        })
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
        .into_inner();
    let mut pdf = Vec::new();
    let mut status = String::new();
    while let Some(part) = stream
        .message()
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?
    {
        match part.part {
            Some(saoy::proto::get_copy_response::Part::Header(h)) => {
                status = h.report.map(|r| r.status).unwrap_or_default();
            }
            Some(saoy::proto::get_copy_response::Part::Chunk(c)) => pdf.extend_from_slice(&c),
            None => {}
        }
    }
    std::fs::write(&args.out, &pdf)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    print_quietly(&format!(
        "{}\n",
        serde_json::json!({
            "id": record.id,
            "reference": record.reference,
            "issued_at": record.issued_at,
            "copy_sha256": record.copy_sha256,
            "verification": status,
            "out": args.out.display().to_string(),
        })
    ));
    Ok(ExitCode::SUCCESS)
}

/// `saoy sign-pending`: one line per copy on stdout; exit 1 when any failed.
async fn sign_pending(
    signer_cert: PathBuf,
    signer_key: String,
    client: ClientArgs,
) -> Result<ExitCode, String> {
    let key = saoy::certifier::open_key(&signer_key).map_err(|e| e.to_string())?;
    let channel = client.channel().await?;
    let batch = saoy::certifier::sign_pending(channel, &signer_cert, key.as_ref()).await?;
    let mut failed = false;
    for c in &batch.copies {
        let line = match &c.error {
            None => {
                serde_json::json!({"id": c.copy_id, "reference": c.reference, "status": "issued"})
            }
            Some(e) => {
                failed = true;
                serde_json::json!({"id": c.copy_id, "reference": c.reference, "status": "failed", "error": e})
            }
        };
        print_quietly(&format!("{line}\n"));
    }
    eprintln!(
        "signed {} of {} copies awaiting this certificate; {} await another certifier",
        batch.copies.iter().filter(|c| c.error.is_none()).count(),
        batch.copies.len(),
        batch.others
    );
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Pages in the files, counted as the server counts them: one per JPEG or PNG, every
/// directory of a TIFF, every page of a PDF.
fn count_pages(files: &[PathBuf]) -> Result<u32, String> {
    let mut pages = 0u32;
    for f in files {
        let data = std::fs::read(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let n = saoy::digitize::page_count(&data).map_err(|e| format!("{}: {e}", f.display()))?;
        pages = pages.saturating_add(n);
    }
    Ok(pages)
}

fn verify(
    file: &Path,
    trust: &[PathBuf],
    trust_dir: &[PathBuf],
    crl: &[PathBuf],
    at: Option<&str>,
    format: Format,
) -> Result<ExitCode, String> {
    let validation_time = at
        .map(|s| {
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .map(std::time::SystemTime::from)
                .map_err(|e| format!("--at {s:?} is not an RFC 3339 time: {e}"))
        })
        .transpose()?;
    let policy = saoy::app::policy_from_files(trust, trust_dir, crl, validation_time)
        .map_err(|e| e.to_string())?;
    // Streams the file: hashes the byte ranges in chunks, reads only the objects it needs.
    let mut report =
        verify_file(file, &policy).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if policy.trust_anchors.is_empty() {
        report.messages.push(saoy::app::NOTHING_TRUSTED.into());
    }
    let text = match format {
        Format::Json => report.to_json() + "\n",
        Format::Text => report.render_text() + "\n",
        Format::EtsiXml => report.to_etsi_xml(),
    };
    // A closed pipe (`saoy verify … | head`) is not an error of the verification: the exit
    // code still says whether the file PASSED.
    print_quietly(&text);
    Ok(if report.is_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

// ---- `saoy digitize DIR --out DIR`: the command-line face of `app::batch`, with a
// progress bar on stderr and the summary of refused documents at the end.

/// Arguments of `saoy digitize`.
#[derive(Debug, Clone, clap::Args)]
struct DigitizeArgs {
    /// Directory of scans: each file is one document, each sub-directory one document of
    /// its files in name order (JPEG, PNG, TIFF, PDF).
    dir: PathBuf,
    /// Where the PDF/A files and the resume state go.
    #[arg(long)]
    out: PathBuf,
    /// Document type: selects the policy (dpi, colour, OCR), e.g. "Giấy khai sinh".
    #[arg(long, default_value = "")]
    doc_type: String,
    /// Add a Vietnamese text layer (Tesseract) even if the type does not ask for it.
    #[arg(long)]
    ocr: bool,
    /// Minimum resolution in dpi (raised by the document type's policy if higher).
    #[arg(long, default_value_t = 200)]
    min_dpi: u32,
    /// Accept scans under the minimum resolution.
    #[arg(long)]
    allow_low_resolution: bool,
    /// Agency named in the PDF metadata.
    #[arg(long, default_value = "")]
    agency: String,
}

/// Runs the batch; exit code 0 when nothing was refused, 1 when some documents were, 2 when
/// the batch could not run.
fn digitize_batch(args: DigitizeArgs) -> ExitCode {
    let policy = PolicyBook::builtin().lookup(&args.doc_type).clone();
    let opts = BatchOptions {
        digitize: DigitizeOptions {
            min_dpi: args.min_dpi,
            allow_low_resolution: args.allow_low_resolution,
            ..DigitizeOptions::default()
        },
        ocr: (args.ocr || policy.ocr).then(Tesseract::default),
        policy,
        agency: args.agency,
        document_type: args.doc_type,
        ..BatchOptions::default()
    };
    use std::io::Write as _;
    let mut stderr = std::io::stderr();
    let result = batch::digitize_dir(&args.dir, &args.out, &opts, |step| {
        let _ = writeln!(stderr, "{}", progress_line(step));
    });
    match result {
        Ok(summary) => {
            let mut text = format!(
                "{} digitised, {} already done, {} refused\n",
                summary.done,
                summary.already_done,
                summary.refused.len()
            );
            for r in &summary.refused {
                text += &format!("refused {}: {}\n", r.name, r.reason);
            }
            print_quietly(&text);
            if summary.refused.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// `[#####.....] 12/50 name: done`
fn progress_line(step: &Step<'_>) -> String {
    const WIDTH: usize = 30;
    let filled = (step.index * WIDTH)
        .checked_div(step.total)
        .unwrap_or(WIDTH);
    let what = match step.outcome {
        DocumentResult::Done(file) => format!("→ {file}"),
        DocumentResult::AlreadyDone => "already done".into(),
        DocumentResult::Refused(reason) => format!("REFUSED: {reason}"),
    };
    format!(
        "[{}{}] {}/{} {}: {what}",
        "#".repeat(filled),
        ".".repeat(WIDTH - filled),
        step.index,
        step.total,
        step.name
    )
}
