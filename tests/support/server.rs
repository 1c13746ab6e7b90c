//! A real saoy gRPC server in-process on 127.0.0.1:0, over a temporary local store.

use std::net::SocketAddr;
use std::sync::Arc;

use saoy::app::App;
use saoy::config::Config;
use tokio::sync::oneshot;

/// A running server; dropped → shut down.
pub struct TestServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The app behind it.
    pub app: Arc<App>,
    /// The store directory.
    pub data: tempfile::TempDir,
    /// The metrics listener (`GET /metrics`) beside it, on its own port.
    pub metrics: saoy::metrics::MetricsServer,
    stop: Option<oneshot::Sender<()>>,
}

impl TestServer {
    /// The directory of its local store (the temporary one unless the test chose another).
    pub fn data_dir(&self) -> std::path::PathBuf {
        self.app.config().data_dir.clone()
    }

    /// `https://localhost:port`, for tonic clients (the test server certificate names
    /// `localhost`).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// A channel to this server over mutual TLS as the test client `who` (`clerk`,
    /// `portal`, `admin`, ... of certs-test/tls), or without a client certificate for
    /// `"none"`.
    pub async fn channel(&self, who: &str) -> tonic::transport::Channel {
        super::client::channel(&self.url(), who).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The default configuration with absolute test-PKI paths and a fresh data dir.
pub fn test_config(data: &std::path::Path) -> Config {
    let mut config = Config::default();
    let pki = |f: &str| super::pki(f);
    config.data_dir = data.to_path_buf();
    config.agencies = saoy::config::agency::test_agencies(&super::crate_dir().join("certs-test"));
    // Each test process serves its own test TSA on a port of its own (a port shared with a
    // child process would vanish with it).
    config.pki.listen = "127.0.0.1:0".parse().unwrap();
    config.pki.dir = super::crate_dir().join("certs-test");
    config.trust.anchors = vec![pki("root.pem")];
    config.trust.crls = vec![pki("issuing-ca.crl"), pki("root.crl")];
    config.server.tls_cert_file = pki("tls/server.pem");
    config.server.tls_key_file = pki("tls/server.key.pem");
    config.server.client_trust.anchors = vec![pki("tls/ca.pem")];
    config.server.client_trust.crls = vec![pki("tls/ca.crl")];
    config.validate().expect("test config is valid");
    config
}

/// Starts a server with `adjust` applied to the test configuration.
pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
    start_on(None, adjust).await
}

/// Starts a server on `store` (`None`: the store the configuration names, by default a
/// temporary local directory), with `adjust` applied to the test configuration; its
/// metrics listener on another port of 127.0.0.1.
pub async fn start_on(
    store: Option<Arc<dyn saoy::store::ObjectStore>>,
    adjust: impl FnOnce(&mut Config),
) -> TestServer {
    let data = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(data.path());
    adjust(&mut config);
    let app = match store {
        Some(store) => App::open_on(config, store).await,
        None => App::open(config).await,
    };
    let app = Arc::new(app.expect("app opens"));
    let (listener, addr) = saoy::service::server::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind");
    let metrics_listener = saoy::metrics::bind("127.0.0.1:0".parse().unwrap())
        .await
        .expect("bind the metrics listener");
    let metrics = saoy::metrics::serve(Arc::clone(app.metrics()), metrics_listener)
        .expect("metrics listener");
    let (stop, stopped) = oneshot::channel::<()>();
    let served = Arc::clone(&app);
    tokio::spawn(async move {
        let _ = saoy::service::serve(served, listener, async {
            let _ = stopped.await;
        })
        .await;
    });
    TestServer {
        addr,
        app,
        data,
        metrics,
        stop: Some(stop),
    }
}

/// Starts a server on the plain test configuration.
pub async fn start() -> TestServer {
    start_with(|_| {}).await
}
