//! The signing level of copies and the time-stamper behind it: the TSA client of `[tsa]`
//! (on the TEST PKI, the in-process test TSA, started here when needed).

use std::sync::Arc;

use crate::config::Config;
use crate::sign::SignatureTimeStamper;
use crate::tsa::TsaClient;

/// How signatures are time-stamped, from the configuration.
#[derive(Debug)]
pub(crate) struct Stamping {
    /// The TSAs, at B-T and above.
    client: Option<Arc<TsaClient>>,
    /// Sign B-B when no TSA answers (`tsa.allow_unstamped`).
    pub(crate) allow_unstamped: bool,
}

impl Stamping {
    /// The stamping of `config`, whose TSA certificates must chain to `anchors` (DER; the
    /// `tsa.trust` files replace them when given). On the TEST PKI with no `tsa.urls`, the
    /// test PKI services are made sure to run at `pki.listen` (a failure is logged: every
    /// certification then says that no TSA answered).
    pub(crate) fn from_config(
        config: &Config,
        anchors: Vec<Vec<u8>>,
    ) -> crate::error::Result<Self> {
        let level = config.signing.level;
        if !level.needs_timestamp() {
            return Ok(Self {
                client: None,
                allow_unstamped: config.tsa.allow_unstamped,
            });
        }
        let mut fallback = config.test_tsa_url();
        if config.tsa.urls.is_empty() && fallback.is_some() {
            match crate::pkiserve::ensure_embedded(&config.pki.dir, config.pki.listen) {
                Ok(how) => {
                    tracing::debug!(?how, "test PKI services");
                    fallback = Some(format!("http://{}/tsa", how.addr()));
                }
                Err(e) => tracing::error!(error = %e, "the in-process test TSA is not available"),
            }
        }
        let mut tsa_anchors = Vec::new();
        for f in &config.tsa.trust {
            tsa_anchors.extend(crate::pki::key::read_pem_certificates(f)?);
        }
        if tsa_anchors.is_empty() {
            tsa_anchors = anchors;
        }
        let urls = config.tsa.effective_urls(fallback.as_deref());
        Ok(Self {
            client: Some(Arc::new(TsaClient::new(&config.tsa, urls, tsa_anchors))),
            allow_unstamped: config.tsa.allow_unstamped,
        })
    }

    /// The time-stamper of signatures, at B-T and above.
    pub(crate) fn stamper(&self) -> Option<&dyn SignatureTimeStamper> {
        self.client
            .as_deref()
            .map(|c| c as &dyn SignatureTimeStamper)
    }
}
