//! [`AuditLog`]: the handle the service appends through.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::config::AuditConfig;
use super::error::AuditError;
use super::model::{AuditEntry, EntryId, chain_name, parse_time};
use super::read::{self, AuditFilter, reading_chain};
use super::seal::Sealer;
use super::writer::{self, Msg, Shared};
use crate::clock::{Clock, rfc3339};
use crate::store::ObjectStore;

/// Largest entry accepted, counted as the sum of its text fields' lengths.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;

/// An append-only, hash-chained audit log in an object store, one chain per agency.
///
/// Appends to one chain from one process are committed in groups by a writer task per
/// chain; several processes may append to the same store at once (see
/// [`crate::audit`] for how).
pub struct AuditLog {
    shared: Arc<Shared>,
    writers: Mutex<HashMap<String, mpsc::Sender<Msg>>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog")
            .field("store", &self.shared.store.describe())
            .field("sealed", &self.shared.sealer.is_some())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl AuditLog {
    /// A log in `store`; checkpoints are signed by `sealer` (none: no checkpoints).
    pub fn new(
        store: Arc<dyn ObjectStore>,
        sealer: Option<Arc<Sealer>>,
        config: AuditConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self::from_shared(Shared {
            store,
            copy: None,
            sealer,
            config,
            clock,
        })
    }

    fn from_shared(shared: Shared) -> Self {
        Self {
            shared: Arc::new(shared),
            writers: Mutex::new(HashMap::new()),
        }
    }

    /// The same log, also copying every checkpoint to `copy` (another store, kept where
    /// whoever can write the main store cannot), so a cut tail can be seen later.
    pub fn with_checkpoint_copy(self, copy: Arc<dyn ObjectStore>) -> Self {
        let mut shared = Shared::clone(&self.shared);
        shared.copy = Some(copy);
        Self::from_shared(shared)
    }

    /// The store the log writes to.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.shared.store
    }

    /// Appends `entry` to the chain of agency `chain` (`None`: calls that name no agency),
    /// stored before this returns. An empty `at` is set to now (Vietnam time).
    pub async fn append(
        &self,
        chain: Option<&str>,
        mut entry: AuditEntry,
    ) -> Result<EntryId, AuditError> {
        let name = chain_name(chain)?;
        check_entry(&entry)?;
        if entry.at.is_empty() {
            entry.at = rfc3339(self.shared.clock.now_vietnam());
        }
        let (tx, rx) = oneshot::channel();
        self.send(&name, Msg::Append(Box::new(entry), tx)).await?;
        rx.await.map_err(|_| AuditError::WriterGone(name))?
    }

    /// Entries of one chain (an agency code or `_none`), or of all chains with `None`,
    /// that match `filter`, in chain order.
    pub async fn entries(
        &self,
        chain: Option<&str>,
        filter: &AuditFilter,
    ) -> Result<Vec<(EntryId, AuditEntry)>, AuditError> {
        read::entries(self.shared.store.as_ref(), chain, filter).await
    }

    /// Seals a checkpoint over the newest block of one chain now (if anything is unsealed
    /// and the log has a sealer), e.g. before shutting down.
    pub async fn seal(&self, chain: Option<&str>) -> Result<(), AuditError> {
        let name = match chain {
            Some(c) => reading_chain(c)?,
            None => chain_name(None)?,
        };
        let (tx, rx) = oneshot::channel();
        let msg = Msg::Seal {
            force: true,
            reply: Some(tx),
        };
        self.send(&name, msg).await?;
        rx.await.map_err(|_| AuditError::WriterGone(name))?
    }

    /// [`AuditLog::seal`] for every chain this log has written to.
    pub async fn seal_all(&self) -> Result<(), AuditError> {
        for name in self.chain_names() {
            self.seal(Some(&name)).await?;
        }
        Ok(())
    }

    /// Every `checkpoint_every_secs`, asks each chain this log writes whether a
    /// checkpoint is due (so an idle chain's tail is sealed too); stops when the log is
    /// dropped. `None` when sealing by time is off or there is no sealer.
    pub fn spawn_sealer(self: &Arc<Self>) -> Option<tokio::task::JoinHandle<()>> {
        let secs = self.shared.config.checkpoint_every_secs;
        if secs == 0 || self.shared.sealer.is_none() {
            return None;
        }
        let log = Arc::downgrade(self);
        Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(log) = log.upgrade() else { break };
                for tx in log.senders() {
                    let _ = tx.try_send(Msg::Seal {
                        force: false,
                        reply: None,
                    });
                }
            }
        }))
    }

    fn chain_names(&self) -> Vec<String> {
        match self.writers.lock() {
            Ok(w) => w.keys().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().keys().cloned().collect(),
        }
    }

    fn senders(&self) -> Vec<mpsc::Sender<Msg>> {
        match self.writers.lock() {
            Ok(w) => w.values().cloned().collect(),
            Err(poisoned) => poisoned.into_inner().values().cloned().collect(),
        }
    }

    /// The writer of chain `name`, started if needed (or again if its task is gone).
    fn writer(&self, name: &str, restart: bool) -> mpsc::Sender<Msg> {
        let mut writers = match self.writers.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        if !restart
            && let Some(tx) = writers.get(name)
            && !tx.is_closed()
        {
            return tx.clone();
        }
        let tx = writer::spawn(name.to_string(), Arc::clone(&self.shared));
        writers.insert(name.to_string(), tx.clone());
        tx
    }

    async fn send(&self, name: &str, msg: Msg) -> Result<(), AuditError> {
        let Err(mpsc::error::SendError(msg)) = self.writer(name, false).send(msg).await else {
            return Ok(());
        };
        self.writer(name, true)
            .send(msg)
            .await
            .map_err(|_| AuditError::WriterGone(name.to_string()))
    }
}

/// Refuses entries the log should not carry: no action, a bad time, or too much text.
fn check_entry(entry: &AuditEntry) -> Result<(), AuditError> {
    if entry.action.is_empty() {
        return Err(AuditError::InvalidInput(
            "an audit entry names its action".into(),
        ));
    }
    if !entry.at.is_empty() && parse_time(&entry.at).is_none() {
        return Err(AuditError::InvalidInput(format!(
            "audit entry time {:?} is not RFC 3339",
            entry.at.chars().take(64).collect::<String>()
        )));
    }
    let a = &entry.actor;
    let texts = [
        Some(&entry.at),
        Some(&entry.action),
        Some(&entry.outcome),
        entry.copy_id.as_ref(),
        entry.owner_id.as_ref(),
        entry.consent_id.as_ref(),
        entry.detail.as_ref(),
        entry.request_id.as_ref(),
        a.fingerprint.as_ref(),
        a.agency.as_ref(),
        a.role.as_ref(),
        a.citizen.as_ref(),
    ];
    let size: usize = texts.iter().flatten().map(|s| s.len()).sum();
    if size > MAX_ENTRY_BYTES {
        return Err(AuditError::InvalidInput(format!(
            "an audit entry holds at most {MAX_ENTRY_BYTES} bytes of text, this one {size}"
        )));
    }
    Ok(())
}
