//! The use cases, free of any transport: certify an original, verify a PDF, read a copy
//! back (re-verified), reuse and revoke records. `service` wraps these in gRPC; the CLI calls
//! them directly. Every use case takes the [`Caller`] and passes [`App::authorize`] with its
//! own [`Action`]. One file per concern: `certify`, `retrieve` (verification, reads, reuse,
//! revocation), `digitization` (back-office jobs on [`jobs`]), [`batch`] (a shelf of scans),
//! `upload` (limits while files arrive), `access` (callers and the one place access is
//! decided), `anchors` (trust in force), `format` (texts printed on a copy).

use std::sync::Arc;

use bytes::Bytes;
use time::OffsetDateTime;

use crate::config::Config;
use crate::digitize::policy::PolicyBook;
use crate::digitize::{self, DigitizeOptions, UploadedFile};
use crate::digitize::{DecodeLimits, DocumentPolicy};
use crate::error::{Error, Result};
use crate::pdf::assemble::{self, ArchiveFacts, CopyContent};
use crate::records::{self, OriginalFile, Record, RecordStatus, Registry, SignerFingerprint};
use crate::sign::{SignRequest, sign_pdf};
use crate::store::{ConditionalWrites, ObjectStore, StoreError, probe_conditional_writes};
use crate::verify::{Indication, Report, SubIndication, ValidationPolicy, verify_pdf};

mod access;
mod agencies;
mod anchors;
pub mod batch;
pub mod books;
mod certify;
mod consent;
mod digitization;
mod format;
pub mod jobs;
mod pending;
mod public;
mod refusal;
mod retrieve;
pub mod rules;
mod stamping;
mod upload;
pub mod verify_cert;

pub use crate::hash::sha256_hex;
pub use access::{Action, Caller, Presented};
pub use anchors::{NOTHING_TRUSTED, TrustStatus, policy_from_files, policy_of, policy_parts};
pub use certify::{Certified, CertifyInput, CertifyMeta};
pub use consent::Access;
pub use digitization::{
    DigitizeJob, DigitizeJobRequest, DigitizedPdf, KEEP_RESULTS, MAX_QUEUED, OCR_WORKERS,
};
pub use format::{certification_reference, vietnamese_date};
pub use pending::{PendingListing, PendingSignature};
pub use public::{
    CopyVersion, PublicSignature, PublicVerification, Revocation, Standing, StandingStatus,
    redact_personal_ids,
};
pub use refusal::{NOTICE_TITLE, RefusalSubject, RefuseInput, Refused};
pub use retrieve::{HashLookup, RetrievedCopy};
pub use rules::Scope;
pub use upload::{MAX_FILE_NAME_CHARS, Upload};

pub use crate::clock::{Clock, FixedClock, SystemClock, VIETNAM_OFFSET, rfc3339};

/// The application: configuration, credentials, store and trust.
pub struct App {
    config: Config,
    /// The agencies served, with their signers (reloadable).
    agencies: Arc<agencies::Agencies>,
    registry: Registry,
    /// Trust anchors (files and a reloadable directory) and the policy built from them.
    trust: Arc<anchors::Trust>,
    /// The CAs (and their CRLs) that client certificates must chain to.
    client_trust: Arc<anchors::Trust>,
    /// Citizens' consents.
    consents: records::Consents,
    /// The hash-chained log of every access (checkpoints sealed with the agency's key).
    audit: Arc<crate::audit::AuditLog>,
    /// Scan rules per document type (resolution, colour, blank pages, OCR).
    policies: PolicyBook,
    /// Back-office digitisation jobs (started on first use).
    digitization: digitization::Digitization,
    clock: Arc<dyn Clock>,
    /// The process's metrics (the store below counts into them).
    metrics: Arc<crate::metrics::Metrics>,
    /// The signing level and the TSAs that time-stamp signatures.
    stamping: stamping::Stamping,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("agencies", &self.agencies.all().len())
            .finish_non_exhaustive()
    }
}

/// The `outcome` label of a verification's overall indication.
fn outcome_of(report: &Report) -> crate::metrics::VerifyOutcome {
    match report.status {
        Indication::Passed => crate::metrics::VerifyOutcome::Passed,
        Indication::Indeterminate => crate::metrics::VerifyOutcome::Indeterminate,
        Indication::Failed => crate::metrics::VerifyOutcome::Failed,
    }
}

/// The key the health probe reads (never written: a missing key is a good answer).
const STORE_PROBE_KEY: &str = "health/probe";

/// Opens the object store the configuration names, without probing it.
pub async fn open_store(config: &Config) -> Result<Arc<dyn ObjectStore>> {
    let location = config.store.location(&config.data_dir)?;
    Ok(crate::store::open(&location, &config.store.s3_options()).await?)
}

/// Builds the validation policy from the configured trust: the anchor files, the current
/// content of the anchors directory (each anchor labelled with its file and reason), CRLs.
pub fn load_policy(config: &Config) -> Result<ValidationPolicy> {
    Ok(ValidationPolicy::clone(
        &anchors::Trust::load(&config.trust)?.policy(),
    ))
}

/// Runs `refresh` on a blocking thread every `every` on the current tokio runtime (if any),
/// until `watched` is dropped; `what` names it in the log when a run fails.
fn watch<T: Send + Sync + 'static>(
    watched: &Arc<T>,
    every: Option<std::time::Duration>,
    refresh: fn(&T),
    what: &'static str,
) {
    let Some(every) = every else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(watched);
    runtime.spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(watched) = weak.upgrade() else {
                break;
            };
            if let Err(e) = tokio::task::spawn_blocking(move || refresh(&watched)).await {
                tracing::error!(error = %e, "{what} reload task failed");
            }
        }
    });
}

/// Looks at the anchors directory every `trust.reload_interval_secs`, while the trust
/// lives.
fn watch_trust(trust: &Arc<anchors::Trust>) {
    watch(
        trust,
        trust.interval(),
        |t| {
            t.refresh(false);
        },
        "trust anchor",
    );
}

/// Looks at the agency files and their signers' files every `agencies_reload_secs`, while
/// the agencies live.
fn watch_agencies(agencies: &Arc<agencies::Agencies>) {
    watch(
        agencies,
        agencies.interval(),
        |a| {
            a.refresh(false);
        },
        "agency",
    );
}

/// Seals each agency's audit chain with that agency's organisation key as in force when
/// the checkpoint is made (chains of calls that name no agency: the first agency's).
fn sealer_of(agencies: &Arc<agencies::Agencies>) -> crate::audit::Sealer {
    let agencies = Arc::downgrade(agencies);
    crate::audit::Sealer::per_chain(Arc::new(move |chain: &str| {
        let agencies = agencies.upgrade()?;
        agencies
            .get(chain)
            .or_else(|| agencies.all().into_iter().next())
            .map(|a| a.signer.clone())
    }))
}

impl App {
    /// Opens the app on the store the configuration names (`store.url`, else the local
    /// `data_dir`), after checking that the store keeps create-only writes exclusive.
    pub async fn open(config: Config) -> Result<Self> {
        let store = open_store(&config).await?;
        Self::open_on(config, store).await
    }

    /// Opens the app on `store`: refuses a store that ignores conditional writes unless
    /// `store.single_replica` is set (the certification book relies on them).
    pub async fn open_on(config: Config, store: Arc<dyn ObjectStore>) -> Result<Self> {
        match probe_conditional_writes(store.as_ref()).await? {
            ConditionalWrites::Honoured => {}
            ConditionalWrites::Ignored(behaviour) if config.store.single_replica => {
                tracing::warn!(
                    store = %store.describe(),
                    %behaviour,
                    "the store does not honour conditional writes; running anyway because \
                     store.single_replica = true: never start a second saoy on this store"
                );
            }
            ConditionalWrites::Ignored(behaviour) => {
                return Err(StoreError::ConditionalWritesIgnored {
                    store: store.describe(),
                    behaviour,
                }
                .into());
            }
        }
        let copy = match config.audit.checkpoint_copy.trim() {
            "" => None,
            url => {
                let location = crate::store::Location::parse(url)?;
                Some(crate::store::open(&location, &config.store.s3_options()).await?)
            }
        };
        Self::build(config, store, Arc::new(SystemClock), copy)
    }

    /// Opens the app on a given store and clock.
    pub fn with_store(
        config: Config,
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Self::build(config, store, clock, None)
    }

    /// The app on `store` and `clock`, copying audit checkpoints to `checkpoint_copy`.
    fn build(
        config: Config,
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
        checkpoint_copy: Option<Arc<dyn ObjectStore>>,
    ) -> Result<Self> {
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let store: Arc<dyn ObjectStore> = Arc::new(crate::metrics::MeteredStore::new(
            store,
            Arc::clone(&metrics),
        ));
        let agencies = Arc::new(agencies::Agencies::load(&config)?);
        watch_agencies(&agencies);
        let trust = Arc::new(anchors::Trust::load(&config.trust)?);
        watch_trust(&trust);
        // Over plaintext no caller presents a certificate: no client CA files are needed.
        let client_trust = match config.server.insecure_plaintext {
            true => anchors::Trust::load(&crate::config::TrustConfig::default())?,
            false => anchors::Trust::load(&config.server.client_trust)?,
        };
        let client_trust = Arc::new(client_trust);
        watch_trust(&client_trust);
        let mut audit = crate::audit::AuditLog::new(
            Arc::clone(&store),
            Some(Arc::new(sealer_of(&agencies))),
            config.audit.clone(),
            Arc::clone(&clock),
        );
        if let Some(copy) = checkpoint_copy {
            audit = audit.with_checkpoint_copy(copy);
        }
        let audit = Arc::new(audit);
        let stamping =
            stamping::Stamping::from_config(&config, trust.policy().trust_anchors.clone())?;
        if tokio::runtime::Handle::try_current().is_ok() {
            // Seals idle chains every `audit.checkpoint_every_secs`, while the log lives.
            drop(audit.spawn_sealer());
        }
        Ok(Self {
            client_trust,
            consents: records::Consents::new(Arc::clone(&store)),
            audit,
            registry: Registry::with_clock(store, Arc::clone(&clock)),
            agencies,
            trust,
            policies: PolicyBook::builtin(),
            digitization: digitization::Digitization::default(),
            clock,
            config,
            metrics,
            stamping,
        })
    }

    /// The process's metrics, for the metrics listener and the gRPC layer.
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// True when the store answers a cheap read (a `get` of one key that need not exist)
    /// within `timeout`: the health probe. Records the answer in the metrics.
    pub async fn store_reachable(&self, timeout: std::time::Duration) -> bool {
        let read = self.audit.store().get(STORE_PROBE_KEY);
        let up = matches!(tokio::time::timeout(timeout, read).await, Ok(Ok(_)));
        self.metrics.store_reachable(up);
        up
    }

    /// The time now, by the app's clock.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The object store in use, described for logs.
    pub fn store_description(&self) -> String {
        self.registry.describe_store()
    }

    /// The validation policy in force: the current trust anchors, CRLs, labels.
    pub fn policy(&self) -> Arc<ValidationPolicy> {
        self.trust.policy()
    }

    /// Re-reads `trust.anchors_dir`, the client CA directory and the CRL files now (e.g. on
    /// SIGHUP), even if no file seems changed;
    /// logs what changed. Blocking file I/O. Returns true when the set of anchors changed.
    pub fn reload_trust(&self) -> bool {
        let clients = self.client_trust.refresh(true);
        let agencies = self.agencies.refresh(true);
        self.trust.refresh(true) || clients || agencies
    }

    /// Loads the agencies and their signers' certificates and keys again if a file changed
    /// (`force`: in any case). Blocking I/O. True when a new set took over.
    pub fn reload_agencies(&self, force: bool) -> bool {
        self.agencies.refresh(force)
    }

    /// The codes of the agencies served now.
    pub fn agency_codes(&self) -> Vec<String> {
        self.agencies
            .all()
            .iter()
            .map(|a| a.config.code.clone())
            .collect()
    }

    /// The trust anchors in force and how the last look at the anchors directory went.
    pub fn trust_status(&self) -> TrustStatus {
        self.trust.status()
    }
}
