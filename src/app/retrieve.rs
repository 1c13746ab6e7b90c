//! Verification, reads (re-verified on the way out), reuse queries and revocation.

use super::*;

/// A stored copy read back, with its fresh verification.
#[derive(Clone, Debug)]
pub struct RetrievedCopy {
    /// The record.
    pub record: Record,
    /// The copy's bytes as stored.
    pub bytes: Bytes,
    /// Verification of those bytes just now.
    pub report: Report,
    /// Whether the bytes still hash to the recorded SHA-256.
    pub hash_matches: bool,
}

/// Answer to "is this exact file one we issued, and is it still valid?".
#[derive(Clone, Debug)]
pub struct HashLookup {
    /// The copy's record, when the file is one we issued.
    pub record: Option<Record>,
    /// Found, not revoked, not expired.
    pub valid: bool,
    /// Why not valid or not found; empty when valid.
    pub reason: String,
}

/// Default and largest page of `list_records`.
const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

impl App {
    /// Verifies any PDF against the trust anchors in force (the configured files and the
    /// current content of the anchors directory) and the CRLs.
    fn verify_bytes(&self, pdf: &[u8], source: crate::metrics::VerifySource) -> Report {
        let report = verify_pdf(pdf, &self.policy());
        self.metrics.verified(source, super::outcome_of(&report));
        report
    }

    /// Verifies uploaded bytes, then looks them up among the copies issued here: a copy
    /// that was revoked is FAILED with the revocation named, however good its signatures.
    pub async fn verify_upload(self: &Arc<Self>, caller: &Caller, pdf: Vec<u8>) -> Result<Report> {
        self.authorize(caller, Action::VerifyBytes)?;
        let sha256 = sha256_hex(&pdf);
        let this = Arc::clone(self);
        let mut report = tokio::task::spawn_blocking(move || {
            this.verify_bytes(&pdf, crate::metrics::VerifySource::Upload)
        })
        .await
        .map_err(|e| Error::Internal(format!("verify task: {e}")))?;
        if let Some(record) = self.registry.find_by_hash(&sha256).await? {
            report.messages.push(format!(
                "this file is certified copy {} (số chứng thực {}) issued by {} at {}",
                record.id, record.reference, record.agency_name, record.issued_at
            ));
            mark_if_revoked(&mut report, &record);
        }
        Ok(report)
    }

    /// Reads a stored copy for a caller, re-verified (see [`RetrievedCopy`]).
    pub async fn read_copy(self: &Arc<Self>, caller: &Caller, id: &str) -> Result<RetrievedCopy> {
        let (record, consent) = self.admitted_copy(caller, Action::ReadCopy, id).await?;
        let copy = self.get_copy(record).await?;
        self.audit_ok(caller, Action::ReadCopy, Some(&copy.record), consent)
            .await?;
        Ok(copy)
    }

    /// Verifies a stored copy by its id for a caller: the report `read_copy` gives, with
    /// the revocation and the stored-hash check applied.
    pub async fn verify_copy(self: &Arc<Self>, caller: &Caller, id: &str) -> Result<Report> {
        let (record, consent) = self.admitted_copy(caller, Action::VerifyCopy, id).await?;
        let copy = self.get_copy(record).await?;
        self.audit_ok(caller, Action::VerifyCopy, Some(&copy.record), consent)
            .await?;
        Ok(copy.report)
    }

    /// One page of an owner's records in issue order.
    pub async fn list_records(
        &self,
        caller: &Caller,
        owner_id: &str,
        page_size: u32,
        page_token: &str,
    ) -> Result<records::RecordPage> {
        let scope = self.authorize(caller, Action::ListRecords)?;
        records::validate_owner_id(owner_id)?;
        let consents = self
            .admit_owner(caller, Action::ListRecords, scope, owner_id)
            .await?;
        let size = match page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        let mut page = self
            .registry
            .records_page(owner_id, size as usize, page_token)
            .await?;
        if scope == Scope::WithConsent {
            page.records
                .retain(|r| consents.iter().any(|c| c.covers(r)));
        }
        self.audit_owner(caller, Action::ListRecords, owner_id, &consents)
            .await?;
        Ok(page)
    }

    /// The owner's valid, unexpired copies of `document_type`, oldest first.
    pub async fn find_reusable(
        &self,
        caller: &Caller,
        owner_id: &str,
        document_type: &str,
    ) -> Result<Vec<Record>> {
        let scope = self.authorize(caller, Action::FindReusable)?;
        records::validate_owner_id(owner_id)?;
        let consents = self
            .admit_owner(caller, Action::FindReusable, scope, owner_id)
            .await?;
        let wanted = document_type.trim();
        if wanted.is_empty() {
            return Err(Error::InvalidArgument(
                "document_type is empty: say which kind of document is wanted".into(),
            ));
        }
        let now = self.clock.now();
        let found = self
            .registry
            .records_of_owner(owner_id)
            .await?
            .into_iter()
            .filter(|r| r.document_type == wanted && records::is_current(r, now))
            .filter(|r| scope != Scope::WithConsent || consents.iter().any(|c| c.covers(r)))
            .collect();
        self.audit_owner(caller, Action::FindReusable, owner_id, &consents)
            .await?;
        Ok(found)
    }

    /// Whether the file with this SHA-256 is a copy issued here, and still valid.
    pub async fn lookup_by_hash(&self, caller: &Caller, sha256: &str) -> Result<HashLookup> {
        let scope = self.authorize(caller, Action::LookupByHash)?;
        let found = self.registry.find_by_hash(sha256).await?;
        self.audit_ok(caller, Action::LookupByHash, found.as_ref(), None)
            .await?;
        let Some(mut record) = found else {
            return Ok(HashLookup {
                record: None,
                valid: false,
                reason: "no certified copy issued here has this SHA-256 (a modified file never \
                         matches)"
                    .into(),
            });
        };
        let now = self.clock.now();
        let valid = records::is_current(&record, now);
        if scope == Scope::StatusOnly {
            record = records::without_personal_data(record);
        }
        let reason = match &record.status {
            RecordStatus::Revoked { reason, by, at, .. } => {
                format!("revoked at {at} by {by}: {reason}")
            }
            RecordStatus::Valid if record.kind != records::RecordKind::Copy => {
                "a refusal notice issued here, not a certified copy".into()
            }
            RecordStatus::Valid if !valid => format!(
                "expired: valid until {}",
                record.valid_until.as_deref().unwrap_or("?")
            ),
            RecordStatus::Valid => String::new(),
        };
        Ok(HashLookup {
            record: Some(record),
            valid,
            reason,
        })
    }

    /// Revokes copy `id` under `decision` (TT 01/2020 Art. 7: its number, its date, not in
    /// the future, and the deciding official, all required); `by` defaults to the caller's
    /// identity. Revoking twice keeps the first revocation.
    pub async fn revoke_copy(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
        by: &str,
        decision: &records::Decision,
    ) -> Result<Record> {
        let (found, _) = self.admitted_copy(caller, Action::RevokeCopy, id).await?;
        if reason.trim().is_empty() {
            return Err(Error::InvalidArgument(
                "reason is empty: name the decision that revokes the copy".into(),
            ));
        }
        check_decision(decision, self.clock.now())?;
        // Who revoked is the certificate's holder; a name the request gives is kept beside it.
        let by = match by.trim() {
            "" => caller.label(),
            stated => format!("{} (for {stated})", caller.label()),
        };
        let at = rfc3339(self.clock.now().to_offset(VIETNAM_OFFSET));
        let record = self
            .registry
            .revoke_decided(&found.id, reason, &by, &at, decision)
            .await?
            .ok_or_else(|| Error::Internal(format!("copy {} vanished while revoked", found.id)))?;
        self.audit_ok(caller, Action::RevokeCopy, Some(&record), None)
            .await?;
        tracing::info!(id, caller = %caller.label(), "certified copy revoked");
        Ok(record)
    }

    /// Reads a stored copy and re-verifies it; a copy whose bytes no longer match the
    /// recorded hash is reported as such and its report is never PASSED.
    /// Unchecked: reached only through [`App::read_copy`], [`App::verify_copy`] and
    /// [`App::public_standing`], each after its access check.
    pub(super) async fn get_copy(self: &Arc<Self>, record: Record) -> Result<RetrievedCopy> {
        let id = record.id.as_str();
        let bytes = self.registry.copy_bytes(id).await?.ok_or_else(|| {
            Error::Internal(format!("record {id} exists but its copy bytes are missing"))
        })?;
        let hash_matches = sha256_hex(&bytes) == record.copy_sha256;
        let this = Arc::clone(self);
        let checked = bytes.clone();
        let mut report = tokio::task::spawn_blocking(move || {
            this.verify_bytes(&checked, crate::metrics::VerifySource::Stored)
        })
        .await
        .map_err(|e| Error::Internal(format!("verify task: {e}")))?;
        if !hash_matches {
            mark_failed(
                &mut report,
                SubIndication::HashFailure,
                "the stored bytes no longer match the SHA-256 recorded at issue".into(),
            );
        }
        mark_if_revoked(&mut report, &record);
        Ok(RetrievedCopy {
            record,
            bytes,
            report,
            hash_matches,
        })
    }
}

/// Lowers the report to FAILED/REVOKED, naming the revocation, when `record` is revoked.
fn mark_if_revoked(report: &mut Report, record: &Record) {
    if let RecordStatus::Revoked { reason, by, at, .. } = &record.status {
        mark_failed(
            report,
            SubIndication::Revoked,
            format!(
                "the certified copy {} was revoked by its agency at {at} ({by}): {reason}",
                record.id
            ),
        );
    }
}

/// Lowers a report to FAILED for a reason outside the PDF (record state, stored hash).
fn mark_failed(report: &mut Report, sub: SubIndication, message: String) {
    report.status = Indication::Failed;
    report.sub_indication = Some(sub);
    report.messages.push(message);
}

/// Checks the decision of a revocation: number, date and official given (at most 500
/// characters each, no control characters), the date `YYYY-MM-DD` or RFC 3339 and not
/// after `now` (in Vietnam).
pub(crate) fn check_decision(d: &records::Decision, now: OffsetDateTime) -> Result<()> {
    for (field, value) in [
        ("decision_number", &d.number),
        ("decision_date", &d.date),
        ("decided_by", &d.official),
    ] {
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{field} is empty: a revocation records the decision cancelling the copy (TT 01/2020 Art. 7): its number, date and the deciding official"
            )));
        }
        if value.chars().count() > 500 || value.chars().any(char::is_control) {
            return Err(Error::InvalidArgument(format!(
                "{field} must be at most 500 characters without control characters"
            )));
        }
    }
    let date = d.date.trim();
    let today = now.to_offset(VIETNAM_OFFSET).date();
    let day = if let Ok(at) =
        OffsetDateTime::parse(date, &time::format_description::well_known::Rfc3339)
    {
        if at > now {
            return Err(Error::InvalidArgument(format!(
                "decision_date {date} is in the future"
            )));
        }
        at.to_offset(VIETNAM_OFFSET).date()
    } else {
        time::Date::parse(
            date,
            time::macros::format_description!("[year]-[month]-[day]"),
        )
        .map_err(|_| {
            Error::InvalidArgument(format!(
                "decision_date {date:?} is neither YYYY-MM-DD nor RFC 3339"
            ))
        })?
    };
    if day > today {
        return Err(Error::InvalidArgument(format!(
            "decision_date {date} is in the future (today is {today})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod decision_tests {
    use super::*;

    #[test]
    fn a_decision_is_checked() {
        let now = time::macros::datetime!(2026-03-10 09:00:00 +07:00);
        let ok = |date: &str| records::Decision {
            number: "12/QĐ-UBND".into(),
            date: date.into(),
            official: "Chủ tịch UBND xã".into(),
        };
        assert!(check_decision(&ok("2026-03-10"), now).is_ok());
        assert!(check_decision(&ok("2026-03-09T08:00:00+07:00"), now).is_ok());
        assert!(check_decision(&ok("2026-03-11"), now).is_err());
        assert!(check_decision(&ok("2026-03-10T10:00:00+07:00"), now).is_err());
        assert!(check_decision(&ok("10/03/2026"), now).is_err());
        assert!(check_decision(&ok("2026-02-30"), now).is_err());
        let mut empty = ok("2026-03-01");
        empty.official = " ".into();
        assert!(check_decision(&empty, now).is_err());
    }
}
