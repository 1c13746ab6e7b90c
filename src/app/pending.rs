//! The certifier signs on their own device: Certify keeps the copy pending with what must
//! be signed (prepare), the certifier's client signs it on the token (sign), and
//! [`App::complete_certification`] embeds the value, verifies the copy and only then issues
//! it (finish). A pending copy holds its book number; one not signed in time is voided with
//! the reason, so the book never has a gap.

use time::format_description::well_known::Rfc3339;

use super::*;
use crate::pki::key::KeyAlgorithm;
use crate::records::{Outcome, PendingCopy};

/// What the certifier must sign for one pending copy.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingSignature {
    /// DER of the CMS signed attributes: the bytes the certifier's key signs.
    pub signed_attributes: Vec<u8>,
    /// Their digest with the algorithm's hash (for tokens that sign a digest).
    pub digest: Vec<u8>,
    /// `rsa-pkcs1-sha256`, `ecdsa-p256-sha256` or `ecdsa-p384-sha384`.
    pub algorithm: String,
    /// DER of the certificate whose key must sign.
    pub signer_certificate: Vec<u8>,
    /// The certifier's id in the agency's configuration.
    pub certifier_id: String,
    /// After this (RFC 3339) the copy is voided instead.
    pub deadline: String,
}

/// A copy awaiting a certifier, as listed.
#[derive(Clone, Debug)]
pub struct PendingListing {
    /// The record as it will be issued.
    pub record: Record,
    /// What to sign.
    pub signature: PendingSignature,
}

fn hex_field(value: &str, what: &str) -> Result<Vec<u8>> {
    hex::decode(value).map_err(|_| Error::Internal(format!("a pending copy's {what} is not hex")))
}

fn signature_of(p: &PendingCopy) -> Result<PendingSignature> {
    let signed_attributes = hex_field(&p.signed_attributes, "signed attributes")?;
    let algorithm = KeyAlgorithm::from_name(&p.algorithm).ok_or_else(|| {
        Error::Internal(format!("a pending copy names algorithm {:?}", p.algorithm))
    })?;
    let digest = match algorithm {
        KeyAlgorithm::EcdsaP384Sha384 => {
            ring::digest::digest(&ring::digest::SHA384, &signed_attributes)
        }
        _ => ring::digest::digest(&ring::digest::SHA256, &signed_attributes),
    };
    Ok(PendingSignature {
        digest: digest.as_ref().to_vec(),
        signed_attributes,
        algorithm: p.algorithm.clone(),
        signer_certificate: hex_field(&p.signer_certificate, "certificate")?,
        certifier_id: p.certifier_id.clone(),
        deadline: p.deadline.clone(),
    })
}

fn past(deadline: &str, now: OffsetDateTime) -> bool {
    // An unreadable deadline counts as passed: never issue on a doubt.
    OffsetDateTime::parse(deadline, &Rfc3339).map_or(true, |d| now > d)
}

impl App {
    /// Keeps a copy whose certifier signs on their own device, and says what to sign. On a
    /// failure to keep it, the number is voided.
    pub(super) async fn keep_pending(
        &self,
        record: Record,
        prepared: crate::sign::ExternalSignature,
        originals: Vec<Bytes>,
        reservation: &records::Reservation,
        certifier: Option<&agencies::Certifier>,
    ) -> Result<Certified> {
        let Some(certifier) = certifier else {
            return Err(Error::Internal("a pending copy without certifier".into()));
        };
        let now = self.clock.now_vietnam();
        let timeout = time::Duration::seconds(
            i64::try_from(self.config.pending.timeout_secs).unwrap_or(i64::MAX / 2),
        );
        let crate::sign::ExternalSignature {
            prepared,
            signed_attributes,
        } = prepared;
        let (pdf, byte_range, capacity) = prepared.into_parts();
        let pending = PendingCopy {
            schema_version: records::SCHEMA_VERSION,
            certifier_id: certifier.id.clone(),
            created_at: rfc3339(now),
            deadline: rfc3339(now + timeout),
            algorithm: certifier.credential.key.algorithm().name().to_string(),
            signer_certificate: hex::encode(certifier.credential.certificate()),
            signer_chain: certifier.credential.chain.iter().map(hex::encode).collect(),
            signed_attributes: hex::encode(&signed_attributes),
            byte_range,
            capacity,
            originals: originals.len(),
            record,
        };
        if let Err(e) = self
            .registry
            .pending()
            .put(&pending, Bytes::from(pdf), originals)
            .await
        {
            self.void_number(
                reservation,
                &format!("pending copy could not be stored: {e}"),
            )
            .await;
            return Err(e.into());
        }
        tracing::info!(id = %pending.record.id, agency = %pending.record.agency_code, number = pending.record.number, certifier = %pending.certifier_id, "copy awaits its certifier's signature");
        Ok(Certified {
            pending: Some(signature_of(&pending)?),
            record: pending.record,
            replayed: false,
            warnings: Vec::new(),
        })
    }

    /// A retried Certify whose copy is already pending (or was voided).
    pub(super) async fn pending_replay(&self, agency: &str, id: &str) -> Result<Option<Certified>> {
        let Some(pending) = self.registry.pending().get(agency, id).await? else {
            return Ok(None);
        };
        if let Some(Outcome::Voided { reason, .. }) =
            self.registry.pending().outcome(agency, id).await?
        {
            return Err(Error::FailedPrecondition(format!(
                "copy {id} of this request was voided ({reason}); certify again with a new client_request_id"
            )));
        }
        Ok(Some(Certified {
            pending: Some(signature_of(&pending)?),
            record: pending.record,
            replayed: true,
            warnings: Vec::new(),
        }))
    }

    /// The copies of the caller's agency awaiting a certifier's signature, oldest first
    /// (expired ones are voided on the way).
    pub async fn list_pending_certifications(
        &self,
        caller: &Caller,
    ) -> Result<Vec<PendingListing>> {
        let action = Action::ListPendingCertifications;
        let agency = self.caller_agency(caller, action)?;
        let now = self.clock.now();
        let mut listed = Vec::new();
        for p in self.registry.pending().open(&agency.config.code).await? {
            if past(&p.deadline, now) {
                self.void_pending(&p).await;
                continue;
            }
            listed.push(PendingListing {
                signature: signature_of(&p)?,
                record: p.record,
            });
        }
        self.audit_ok(caller, action, None, None).await?;
        Ok(listed)
    }

    /// Embeds the certifier's `signature_value` into pending copy `copy_id`, verifies the
    /// copy and issues it. A value that does not verify with the expected certificate, a
    /// copy past its deadline (voided then) or one already ended is refused.
    pub async fn complete_certification(
        &self,
        caller: &Caller,
        copy_id: &str,
        signature_value: &[u8],
    ) -> Result<Record> {
        let action = Action::CompleteCertification;
        let agency = self.caller_agency(caller, action)?;
        let code = agency.config.code.as_str();
        // The same answer for an unknown id and another agency's (an id leaks nothing).
        let refused = || {
            Error::PermissionDenied(format!(
                "CompleteCertification: no copy {copy_id:?} of agency {code} awaits a certifier's signature"
            ))
        };
        let id = copy_id.trim();
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(refused());
        }
        let pending = self.registry.pending();
        // An ended copy: voided, or issued (a repeated completion returns it).
        match pending.outcome(code, id).await? {
            Some(Outcome::Voided { reason, .. }) => {
                return Err(Error::FailedPrecondition(format!(
                    "copy {id} can no longer be signed: its number was voided ({reason})"
                )));
            }
            Some(Outcome::Issued { .. }) => {
                if let Some(done) = self.registry.get(id).await? {
                    return Ok(done);
                }
            }
            None => {}
        }
        let Some(waiting) = pending.get(code, id).await? else {
            return Err(refused());
        };
        if past(&waiting.deadline, self.clock.now()) {
            self.void_pending(&waiting).await;
            return Err(Error::FailedPrecondition(format!(
                "copy {id} was not signed before its deadline {}: its number is voided; certify the original again",
                waiting.deadline
            )));
        }
        let asked = signature_of(&waiting)?;
        let algorithm = KeyAlgorithm::from_name(&asked.algorithm)
            .ok_or_else(|| Error::Internal("unknown algorithm in a pending copy".into()))?;
        let value = algorithm
            .check_signature(&asked.signer_certificate, &asked.signed_attributes, signature_value)
            .map_err(|_| {
                Error::InvalidArgument(format!(
                    "signature_value does not verify with the certificate copy {id} expects ({}): sign its signed_attributes with that certificate's key ({})",
                    certificate_subject(&asked.signer_certificate),
                    asked.algorithm
                ))
            })?;
        let (prepared_pdf, originals) = pending.bytes(&waiting).await?;
        let chain = waiting
            .signer_chain
            .iter()
            .map(|c| hex_field(c, "chain"))
            .collect::<Result<Vec<_>>>()?;
        let prepared = crate::pdf::incremental::PreparedSignature::from_parts(
            prepared_pdf.to_vec(),
            waiting.byte_range,
            waiting.capacity,
        )
        .map_err(crate::sign::SignError::from)?;
        // B-T: the certifier's signature value is time-stamped now (a TSA failure leaves
        // the copy pending, to be completed again).
        let pdf = crate::sign::finish_external_stamped(
            prepared,
            &asked.signed_attributes,
            &value,
            &chain,
            algorithm,
            self.stamping.stamper(),
        )?;
        self.check_issued(&pdf)?;
        let decided = pending
            .decide(
                code,
                id,
                &Outcome::Issued {
                    signature: hex::encode(&value),
                    at: rfc3339(self.clock.now_vietnam()),
                },
            )
            .await?;
        if let Outcome::Voided { reason, .. } = decided {
            return Err(Error::FailedPrecondition(format!(
                "copy {id} can no longer be signed: its number was voided ({reason})"
            )));
        }
        let mut record = waiting.record.clone();
        record.copy_sha256 = sha256_hex(&pdf);
        record.copy_size = pdf.len() as u64;
        self.registry
            .commit(&waiting.reservation(), &record, Bytes::from(pdf), originals)
            .await?;
        if let Err(e) = pending.clear(&waiting).await {
            tracing::warn!(id, error = %e, "an issued pending copy's working files stay in the store");
        }
        self.audit_ok(caller, action, Some(&record), None).await?;
        tracing::info!(id = %record.id, agency = %record.agency_code, number = record.number, "certified copy issued after the certifier signed");
        Ok(record)
    }

    /// Voids the number of a pending copy past its deadline (once, whichever replica
    /// comes first).
    async fn void_pending(&self, p: &PendingCopy) {
        let reason = format!(
            "not signed by the certifier ({}) before the deadline {}",
            p.certifier_id, p.deadline
        );
        let outcome = Outcome::Voided {
            reason: reason.clone(),
            at: rfc3339(self.clock.now_vietnam()),
        };
        let pending = self.registry.pending();
        match pending
            .decide(&p.record.agency_code, &p.record.id, &outcome)
            .await
        {
            Ok(Outcome::Voided { .. }) => {
                self.void_number(&p.reservation(), &reason).await;
                if let Err(e) = pending.clear(p).await {
                    tracing::warn!(id = %p.record.id, error = %e, "a voided pending copy's working files stay in the store");
                }
                tracing::info!(id = %p.record.id, number = p.record.number, "pending copy voided: not signed in time");
            }
            Ok(Outcome::Issued { .. }) => {}
            Err(e) => {
                tracing::error!(id = %p.record.id, error = %e, "could not void a pending copy")
            }
        }
    }

    /// Voids expired pending copies every `pending.sweep_interval_secs` on the current tokio
    /// runtime, while the app lives.
    pub fn spawn_pending_sweeper(self: &Arc<Self>) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let every = std::time::Duration::from_secs(self.config.pending.sweep_interval_secs);
        let weak = Arc::downgrade(self);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(app) = weak.upgrade() else {
                    break;
                };
                app.sweep_pending().await;
            }
        });
    }

    /// Voids every pending copy of every agency past its deadline.
    pub async fn sweep_pending(&self) {
        let now = self.clock.now();
        for agency in self.agencies.all() {
            let open = match self.registry.pending().open(&agency.config.code).await {
                Ok(open) => open,
                Err(e) => {
                    tracing::warn!(agency = %agency.config.code, error = %e, "cannot list pending copies");
                    continue;
                }
            };
            for p in open.iter().filter(|p| past(&p.deadline, now)) {
                self.void_pending(p).await;
            }
        }
    }
}

fn certificate_subject(der: &[u8]) -> String {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_else(|_| "unreadable certificate".into())
}
