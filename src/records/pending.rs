//! Copies awaiting their certifier's signature, kept beside the book until the certifier
//! signs (the copy is then committed like any other) or the deadline passes (the number
//! is voided). Which of the two happened is decided once, by a create-only outcome object,
//! so two replicas can never both issue and void the same copy.
//!
//! ```text
//! pending/{agency}/{id}.json            PendingCopy (written last: its presence = complete)
//! pending/{agency}/{id}.pdf             the copy with the certifier's empty signature field
//! pending/{agency}/{id}.original-{n}    the uploaded originals
//! pending/{agency}/{id}.outcome.json    Outcome (create-only): issued or voided
//! ```

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::model::{Record, Reservation, SCHEMA_VERSION};
use super::validate::{validate_agency_code, validate_record_id};
use super::{RecordsError, keys};
use crate::store::ObjectStore;

/// A copy awaiting its certifier's signature.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct PendingCopy {
    /// Format version.
    pub schema_version: u32,
    /// The record as it will be issued (its copy hash and size are filled on completion).
    pub record: Record,
    /// The certifier who must sign (its id in the agency's configuration).
    pub certifier_id: String,
    /// When the copy was prepared (RFC 3339).
    pub created_at: String,
    /// Signed after this (RFC 3339), the copy is voided instead.
    pub deadline: String,
    /// Signature algorithm expected (`rsa-pkcs1-sha256`, `ecdsa-p256-sha256`, ...).
    pub algorithm: String,
    /// Hex DER of the certificate whose key must sign.
    pub signer_certificate: String,
    /// Hex DER of the certificate chain to embed (the signer's first).
    pub signer_chain: Vec<String>,
    /// Hex DER of the CMS signed attributes: the bytes the certifier's key signs.
    pub signed_attributes: String,
    /// The /ByteRange of the prepared signature.
    pub byte_range: [usize; 4],
    /// Bytes reserved for the signature container.
    pub capacity: usize,
    /// Number of original files kept with it.
    pub originals: usize,
}

impl PendingCopy {
    /// The book number it holds.
    pub fn reservation(&self) -> Reservation {
        Reservation {
            agency_code: self.record.agency_code.clone(),
            number: self.record.number,
            book: self.record.book.clone(),
            year: self.record.year,
        }
    }
}

/// How a pending copy ended; decided once.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The certifier's signature was accepted: the copy is (being) issued.
    Issued {
        /// Hex of the signature value, so that an interrupted completion can be finished.
        signature: String,
        /// When (RFC 3339).
        at: String,
    },
    /// Not signed in time (or refused): the number is voided with this reason.
    Voided {
        /// Why.
        reason: String,
        /// When (RFC 3339).
        at: String,
    },
}

/// An outcome as stored, with the schema version every stored document carries.
#[derive(Serialize, Deserialize)]
struct OutcomeEntry {
    schema_version: u32,
    #[serde(flatten)]
    outcome: Outcome,
}

/// Pending copies in one store.
#[derive(Clone)]
pub struct PendingCopies {
    store: Arc<dyn ObjectStore>,
}

impl std::fmt::Debug for PendingCopies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingCopies").finish_non_exhaustive()
    }
}

fn prefix(agency: &str) -> String {
    format!("pending/{agency}/")
}

fn key(agency: &str, id: &str, suffix: &str) -> String {
    format!("pending/{agency}/{id}{suffix}")
}

impl PendingCopies {
    /// Pending copies kept in `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// Keeps a pending copy: its originals, its prepared PDF, then its description.
    pub async fn put(
        &self,
        pending: &PendingCopy,
        pdf: Bytes,
        originals: Vec<Bytes>,
    ) -> Result<(), RecordsError> {
        let (agency, id) = (&pending.record.agency_code, &pending.record.id);
        validate_agency_code(agency)?;
        validate_record_id(id)?;
        for (n, data) in originals.into_iter().enumerate() {
            self.store
                .put(&key(agency, id, &format!(".original-{n}")), data)
                .await?;
        }
        self.store.put(&key(agency, id, ".pdf"), pdf).await?;
        let k = key(agency, id, ".json");
        self.store.put(&k, keys::encode(&k, pending)?).await?;
        Ok(())
    }

    /// The pending copy `id` of `agency`, if one was kept (whatever its outcome).
    pub async fn get(&self, agency: &str, id: &str) -> Result<Option<PendingCopy>, RecordsError> {
        validate_agency_code(agency)?;
        validate_record_id(id)?;
        let k = key(agency, id, ".json");
        match self.store.get(&k).await? {
            None => Ok(None),
            Some(bytes) => Ok(Some(keys::decode(&k, &bytes)?)),
        }
    }

    /// The prepared PDF and the originals of a pending copy.
    pub async fn bytes(&self, pending: &PendingCopy) -> Result<(Bytes, Vec<Bytes>), RecordsError> {
        let (agency, id) = (&pending.record.agency_code, &pending.record.id);
        let missing = |what: &str| RecordsError::Corrupt {
            key: key(agency, id, ""),
            reason: format!("the pending copy's {what} is missing"),
        };
        let pdf = self
            .store
            .get(&key(agency, id, ".pdf"))
            .await?
            .ok_or_else(|| missing("PDF"))?;
        let mut originals = Vec::with_capacity(pending.originals);
        for n in 0..pending.originals {
            originals.push(
                self.store
                    .get(&key(agency, id, &format!(".original-{n}")))
                    .await?
                    .ok_or_else(|| missing("original"))?,
            );
        }
        Ok((pdf, originals))
    }

    /// How pending copy `id` ended, if it did.
    pub async fn outcome(&self, agency: &str, id: &str) -> Result<Option<Outcome>, RecordsError> {
        let k = key(agency, id, ".outcome.json");
        match self.store.get(&k).await? {
            None => Ok(None),
            Some(bytes) => Ok(Some(keys::decode::<OutcomeEntry>(&k, &bytes)?.outcome)),
        }
    }

    /// Records `outcome` unless another was recorded first; returns the outcome in force.
    pub async fn decide(
        &self,
        agency: &str,
        id: &str,
        outcome: &Outcome,
    ) -> Result<Outcome, RecordsError> {
        validate_agency_code(agency)?;
        validate_record_id(id)?;
        let k = key(agency, id, ".outcome.json");
        if self
            .store
            .put_if_absent(
                &k,
                keys::encode(
                    &k,
                    &OutcomeEntry {
                        schema_version: SCHEMA_VERSION,
                        outcome: outcome.clone(),
                    },
                )?,
            )
            .await?
        {
            return Ok(outcome.clone());
        }
        self.outcome(agency, id)
            .await?
            .ok_or_else(|| RecordsError::Corrupt {
                key: k,
                reason: "an outcome was taken but cannot be read".into(),
            })
    }

    /// Removes the bytes of a pending copy that has ended (its outcome stays).
    pub async fn clear(&self, pending: &PendingCopy) -> Result<(), RecordsError> {
        let (agency, id) = (&pending.record.agency_code, &pending.record.id);
        self.store.delete(&key(agency, id, ".json")).await?;
        self.store.delete(&key(agency, id, ".pdf")).await?;
        for n in 0..pending.originals {
            self.store
                .delete(&key(agency, id, &format!(".original-{n}")))
                .await?;
        }
        Ok(())
    }

    /// The pending copies of `agency` that have no outcome yet, oldest first.
    pub async fn open(&self, agency: &str) -> Result<Vec<PendingCopy>, RecordsError> {
        validate_agency_code(agency)?;
        let keys_found = self.store.list(&prefix(agency)).await?;
        let ended: std::collections::HashSet<&str> = keys_found
            .iter()
            .filter_map(|k| k.strip_suffix(".outcome.json"))
            .collect();
        let mut open = Vec::new();
        for k in &keys_found {
            let Some(stem) = k.strip_suffix(".json") else {
                continue;
            };
            if stem.ends_with(".outcome") || ended.contains(stem) {
                continue;
            }
            let id = stem.rsplit('/').next().unwrap_or_default();
            if let Some(p) = self.get(agency, id).await? {
                open.push(p);
            }
        }
        open.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(open)
    }
}
