//! DEV PLACEHOLDER — replaced by the real audit log from branch `audit` before merging.
#![allow(missing_docs)]
use std::sync::{Arc, Mutex};

use crate::clock::Clock;
use crate::error_kind::ErrorKind;
use crate::store::ObjectStore;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Actor {
    pub fingerprint: Option<String>,
    pub agency: Option<String>,
    pub role: Option<String>,
    pub citizen: Option<String>,
}
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    pub at: String,
    pub actor: Actor,
    pub action: String,
    pub copy_id: Option<String>,
    pub owner_id: Option<String>,
    pub consent_id: Option<String>,
    pub outcome: String,
    pub detail: Option<String>,
}
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub owner_id: Option<String>,
}
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct AuditConfig {}
pub struct Sealer;
#[derive(Clone, Debug)]
pub struct EntryId(pub u64);
#[derive(Debug, thiserror::Error)]
#[error("audit")]
pub struct AuditError;
impl AuditError {
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Unavailable
    }
}
pub struct AuditLog {
    entries: Mutex<Vec<(Option<String>, AuditEntry)>>,
}
impl AuditLog {
    pub fn new(
        _store: Arc<dyn ObjectStore>,
        _sealer: Option<Arc<Sealer>>,
        _config: AuditConfig,
        _clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            entries: Mutex::default(),
        }
    }
    pub async fn append(&self, chain: Option<&str>, entry: AuditEntry) -> Result<EntryId, AuditError> {
        let mut e = self.entries.lock().unwrap();
        e.push((chain.map(str::to_string), entry));
        Ok(EntryId(e.len() as u64))
    }
    pub async fn entries(
        &self,
        _chain: Option<&str>,
        filter: &AuditFilter,
    ) -> Result<Vec<(EntryId, AuditEntry)>, AuditError> {
        let e = self.entries.lock().unwrap();
        Ok(e.iter()
            .enumerate()
            .filter(|(_, (_, x))| filter.owner_id.is_none() || x.owner_id == filter.owner_id)
            .map(|(i, (_, x))| (EntryId(i as u64), x.clone()))
            .collect())
    }
}
