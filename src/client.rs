//! Connecting to a saoy server as a client: TLS with the server's CA and the caller's
//! certificate and key (mutual TLS), or plaintext for `http://` URLs. Used by the CLI's
//! client commands and by tests and benches.

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

/// Where the test PKI's TLS material lives, relative to the working directory.
pub const TEST_TLS_DIR: &str = "certs-test/tls";

/// Default server address of the client commands.
pub const DEFAULT_SERVER: &str = "https://127.0.0.1:50051";

/// How a client proves who it is and whom it trusts.
#[derive(Clone, Debug)]
pub struct ClientTls {
    /// PEM file of the CA that issued the server's certificate.
    pub ca: PathBuf,
    /// PEM file of the client certificate; `None` to call without one (public calls).
    pub cert: Option<PathBuf>,
    /// PEM file of the client's private key.
    pub key: Option<PathBuf>,
}

impl ClientTls {
    /// The test PKI's CA and the named client pair (`clerk`, `portal`, ...).
    pub fn test(dir: &Path, name: &str) -> Self {
        Self {
            ca: dir.join("ca.pem"),
            cert: Some(dir.join(format!("{name}.pem"))),
            key: Some(dir.join(format!("{name}.key.pem"))),
        }
    }
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read the {what} {}: {e}", path.display()))
}

/// A channel to `url`: over TLS (`https://`) with `tls`, plaintext for `http://`. The TLS
/// name checked is the URL's host (`localhost` and `127.0.0.1` are both in the test
/// server's certificate).
pub async fn connect(url: &str, tls: &ClientTls) -> Result<Channel, String> {
    let mut endpoint = Endpoint::from_shared(url.to_string())
        .map_err(|e| format!("{url:?} is not a server URL: {e}"))?
        .tcp_nodelay(true);
    if url.starts_with("https://") {
        let mut config = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(read(&tls.ca, "server CA")?));
        if let (Some(cert), Some(key)) = (&tls.cert, &tls.key) {
            config = config.identity(Identity::from_pem(
                read(cert, "client certificate")?,
                read(key, "client key")?,
            ));
        }
        endpoint = endpoint
            .tls_config(config)
            .map_err(|e| format!("TLS settings: {e}"))?;
    }
    endpoint
        .connect()
        .await
        .map_err(|e| format!("cannot connect to {url}: {e}"))
}
