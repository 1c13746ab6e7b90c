//! Citizens' consents: which agency may see which of their results, for what, until when.
//!
//! ```text
//! consents/{owner_id}/{consent_id}.json            Consent, written once (create-only)
//! consents/{owner_id}/{consent_id}.withdrawn.json  Withdrawal, written once (create-only)
//! ```
//! Nothing is ever rewritten, so replicas cannot lose an update: a withdrawal is a second
//! object, and every check reads the store (no cache), so it takes effect on the next call
//! on every replica.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::RecordsError;
use super::model::{Record, SCHEMA_VERSION};
use super::validate::{validate_agency_code, validate_owner_id};
use crate::store::ObjectStore;

/// Longest purpose text, characters.
const MAX_PURPOSE_CHARS: usize = 500;
/// Most consents one citizen may hold (withdrawn ones included).
const MAX_CONSENTS_PER_OWNER: usize = 1000;

/// One consent of a citizen for one agency.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// Always [`SCHEMA_VERSION`] when written by this version.
    pub schema_version: u32,
    /// Its id (a UUID).
    pub id: String,
    /// The citizen's 12-digit personal identification number.
    pub owner_id: String,
    /// The agency code it is for.
    pub agency: String,
    /// The one copy it covers, or `None` with `document_type` set.
    pub copy_id: Option<String>,
    /// The document type whose copies it covers, or `None` with `copy_id` set.
    pub document_type: Option<String>,
    /// What for, as the citizen said.
    pub purpose: String,
    /// Until when (RFC 3339); `None`: until withdrawn.
    pub valid_until: Option<String>,
    /// When it was granted (RFC 3339).
    pub granted_at: String,
    /// Who recorded it (the portal's label).
    pub granted_by: String,
    /// When it was withdrawn; filled in from the withdrawal object when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<String>,
}

/// What a citizen grants.
#[derive(Clone, Debug, Default)]
pub struct ConsentRequest {
    /// The citizen.
    pub owner_id: String,
    /// The agency code.
    pub agency: String,
    /// One copy id, or empty.
    pub copy_id: String,
    /// One document type, or empty.
    pub document_type: String,
    /// What for.
    pub purpose: String,
    /// RFC 3339, or empty for "until withdrawn".
    pub valid_until: String,
}

#[derive(Serialize, Deserialize)]
struct Withdrawal {
    schema_version: u32,
    consent_id: String,
    at: String,
}

impl Consent {
    /// In force at `now`: not withdrawn and not past `valid_until`.
    pub fn in_force(&self, now: OffsetDateTime) -> bool {
        self.withdrawn_at.is_none()
            && self
                .valid_until
                .as_deref()
                .is_none_or(|u| OffsetDateTime::parse(u, &Rfc3339).is_ok_and(|until| now < until))
    }

    /// Whether it covers `record` (the copy itself, or its document type).
    pub fn covers(&self, record: &Record) -> bool {
        self.owner_id == record.owner_id
            && match (&self.copy_id, &self.document_type) {
                (Some(id), _) => *id == record.id,
                (None, Some(t)) => *t == record.document_type,
                (None, None) => false,
            }
    }
}

fn key(owner: &str, id: &str) -> String {
    format!("consents/{owner}/{id}.json")
}

fn withdrawn_key(owner: &str, id: &str) -> String {
    format!("consents/{owner}/{id}.withdrawn.json")
}

fn corrupt(key: &str, e: impl std::fmt::Display) -> RecordsError {
    RecordsError::Corrupt {
        key: key.to_string(),
        reason: e.to_string(),
    }
}

fn invalid(m: impl Into<String>) -> RecordsError {
    RecordsError::InvalidInput(m.into())
}

/// The consents on a store.
#[derive(Clone)]
pub struct Consents {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for Consents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Consents").finish_non_exhaustive()
    }
}

impl Consents {
    /// The consents kept on `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Records a consent, checked: exactly one of copy id and document type, an agency
    /// code, a purpose, a future `valid_until` if any.
    pub async fn grant(
        &self,
        request: &ConsentRequest,
        granted_by: &str,
        now: OffsetDateTime,
    ) -> Result<Consent, RecordsError> {
        validate_owner_id(&request.owner_id)?;
        let agency = request.agency.trim();
        validate_agency_code(agency)?;
        let (id, kind) = (request.copy_id.trim(), request.document_type.trim());
        let (copy_id, document_type) = match (id.is_empty(), kind.is_empty()) {
            (false, true) => (Some(id.to_string()), None),
            (true, false) => (None, Some(kind.to_string())),
            _ => {
                return Err(invalid(
                    "set exactly one of copy_id and document_type: a consent covers one copy or one kind of document",
                ));
            }
        };
        if copy_id
            .as_ref()
            .is_some_and(|id| uuid::Uuid::parse_str(id).is_err())
        {
            return Err(invalid("copy_id must be a copy id (a UUID)"));
        }
        let purpose = request.purpose.trim();
        if purpose.is_empty() || purpose.chars().count() > MAX_PURPOSE_CHARS {
            return Err(invalid(format!(
                "purpose must say what the agency may use the results for (1-{MAX_PURPOSE_CHARS} characters)"
            )));
        }
        let valid_until = match request.valid_until.trim() {
            "" => None,
            u => {
                let until = OffsetDateTime::parse(u, &Rfc3339).map_err(|_| {
                    invalid(
                        "valid_until must be RFC 3339, e.g. 2027-06-30T23:59:59+07:00, or empty",
                    )
                })?;
                if until <= now {
                    return Err(invalid("valid_until is in the past"));
                }
                Some(u.to_string())
            }
        };
        let prefix = format!("consents/{}/", request.owner_id);
        if self.store.list(&prefix).await?.len() >= MAX_CONSENTS_PER_OWNER {
            return Err(invalid(format!(
                "this citizen already holds {MAX_CONSENTS_PER_OWNER} consents; withdraw old ones first"
            )));
        }
        let consent = Consent {
            schema_version: SCHEMA_VERSION,
            id: uuid::Uuid::now_v7().to_string(),
            owner_id: request.owner_id.clone(),
            agency: agency.to_string(),
            copy_id,
            document_type,
            purpose: purpose.to_string(),
            valid_until,
            granted_at: crate::clock::rfc3339(now),
            granted_by: granted_by.to_string(),
            withdrawn_at: None,
        };
        let k = key(&consent.owner_id, &consent.id);
        let body = serde_json::to_vec(&consent).map_err(|e| corrupt(&k, e))?;
        if !self.store.put_if_absent(&k, body.into()).await? {
            return Err(RecordsError::IdTaken(consent.id));
        }
        Ok(consent)
    }

    /// One consent of `owner`, with its withdrawal applied; `None` when there is none.
    pub async fn get(&self, owner: &str, id: &str) -> Result<Option<Consent>, RecordsError> {
        validate_owner_id(owner)?;
        if uuid::Uuid::parse_str(id).is_err() {
            return Ok(None);
        }
        let k = key(owner, id);
        let Some(bytes) = self.store.get(&k).await? else {
            return Ok(None);
        };
        let mut consent: Consent = serde_json::from_slice(&bytes).map_err(|e| corrupt(&k, e))?;
        if consent.schema_version != SCHEMA_VERSION || consent.owner_id != owner {
            return Err(corrupt(&k, "unknown schema version or wrong owner"));
        }
        let wk = withdrawn_key(owner, id);
        if let Some(w) = self.store.get(&wk).await? {
            let w: Withdrawal = serde_json::from_slice(&w).map_err(|e| corrupt(&wk, e))?;
            consent.withdrawn_at = Some(w.at);
        }
        Ok(Some(consent))
    }

    /// Withdraws consent `id` of `owner` at `now`; withdrawing twice keeps the first time.
    /// `None` when `owner` has no such consent.
    pub async fn withdraw(
        &self,
        owner: &str,
        id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Consent>, RecordsError> {
        if self.get(owner, id).await?.is_none() {
            return Ok(None);
        }
        let w = Withdrawal {
            schema_version: SCHEMA_VERSION,
            consent_id: id.to_string(),
            at: crate::clock::rfc3339(now),
        };
        let wk = withdrawn_key(owner, id);
        let body = serde_json::to_vec(&w).map_err(|e| corrupt(&wk, e))?;
        self.store.put_if_absent(&wk, body.into()).await?;
        self.get(owner, id).await
    }

    /// Every consent of `owner`, oldest first, withdrawn ones included.
    pub async fn list(&self, owner: &str) -> Result<Vec<Consent>, RecordsError> {
        validate_owner_id(owner)?;
        let prefix = format!("consents/{owner}/");
        let mut out = Vec::new();
        for k in self.store.list(&prefix).await? {
            let Some(id) = k
                .strip_prefix(&prefix)
                .and_then(|rest| rest.strip_suffix(".json"))
                .filter(|id| !id.ends_with(".withdrawn"))
            else {
                continue;
            };
            if let Some(c) = self.get(owner, id).await? {
                out.push(c);
            }
        }
        Ok(out)
    }

    /// The consents of `owner` in force at `now` for `agency`.
    pub async fn in_force(
        &self,
        owner: &str,
        agency: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<Consent>, RecordsError> {
        Ok(self
            .list(owner)
            .await?
            .into_iter()
            .filter(|c| c.agency == agency && c.in_force(now))
            .collect())
    }

    /// The first consent of `owner` in force at `now` for `agency` that covers `record`.
    pub async fn covering(
        &self,
        owner: &str,
        agency: &str,
        record: &Record,
        now: OffsetDateTime,
    ) -> Result<Option<Consent>, RecordsError> {
        Ok(self
            .in_force(owner, agency, now)
            .await?
            .into_iter()
            .find(|c| c.covers(record)))
    }
}
