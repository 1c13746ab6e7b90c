//! The citizen's side: consents (grant, withdraw, list), who read their copies, and the
//! audit entries every call leaves.

use super::access::Action;
use super::*;
use crate::audit::{Actor, AuditEntry, AuditFilter};
use crate::records::{Consent, ConsentRequest};

/// One read of a citizen's copy, from the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    /// When (RFC 3339).
    pub at: String,
    /// Who: `role:name@agency`.
    pub who: String,
    /// The agency that read.
    pub agency: String,
    /// What: GetCopy, VerifyCopy, ListRecords, FindReusable.
    pub action: String,
    /// Which copy, when one.
    pub copy_id: Option<String>,
    /// Under which consent, when one.
    pub consent_id: Option<String>,
}

fn actor(caller: &Caller) -> Actor {
    Actor {
        fingerprint: caller.holder.as_ref().map(|h| h.fingerprint.clone()),
        agency: caller.agency().map(str::to_string),
        role: caller.role().map(|r| r.name().to_string()),
        citizen: caller.citizen.clone(),
    }
}

impl App {
    /// Appends one entry to the caller's agency's chain (the no-agency chain without a
    /// certificate); durable before it returns.
    pub(crate) async fn audit(&self, caller: &Caller, mut entry: AuditEntry) -> Result<()> {
        // The log dates the entry from the same clock.
        entry.actor = actor(caller);
        if entry.request_id.is_none() {
            entry.request_id = crate::metrics::request_id::current();
        }
        self.audit.append(caller.agency(), entry).await?;
        Ok(())
    }

    /// Audits a call that went through, on one copy (or none).
    pub(crate) async fn audit_ok(
        &self,
        caller: &Caller,
        action: Action,
        record: Option<&Record>,
        consent_id: Option<String>,
    ) -> Result<()> {
        self.audit(
            caller,
            AuditEntry {
                action: action.name().into(),
                copy_id: record.map(|r| r.id.clone()),
                owner_id: record.map(|r| r.owner_id.clone()),
                consent_id,
                outcome: "ok".into(),
                ..AuditEntry::default()
            },
        )
        .await
    }

    /// Audits a call that went through about one citizen, under the consents named.
    pub(crate) async fn audit_owner(
        &self,
        caller: &Caller,
        action: Action,
        owner_id: &str,
        consents: &[Consent],
    ) -> Result<()> {
        let ids: Vec<&str> = consents.iter().map(|c| c.id.as_str()).collect();
        self.audit(
            caller,
            AuditEntry {
                action: action.name().into(),
                owner_id: Some(owner_id.to_string()),
                consent_id: (!ids.is_empty()).then(|| ids.join(",")),
                outcome: "ok".into(),
                ..AuditEntry::default()
            },
        )
        .await
    }

    /// Audits a refused call (UNAUTHENTICATED, PERMISSION_DENIED) with the rule that
    /// refused it; `target` is the copy id or owner the call named, kept as detail only.
    pub async fn audit_refusal(&self, caller: &Caller, action: Action, error: &Error) {
        let entry = AuditEntry {
            action: action.name().into(),
            outcome: format!("denied: {error}"),
            ..AuditEntry::default()
        };
        if let Err(e) = self.audit(caller, entry).await {
            tracing::error!(error = %e, "a refused call could not be written to the audit log");
        }
    }

    /// Records a consent of the citizen the portal acts for.
    pub async fn grant_consent(&self, caller: &Caller, request: ConsentRequest) -> Result<Consent> {
        let scope = self.authorize(caller, Action::GrantConsent)?;
        records::validate_owner_id(&request.owner_id)?;
        self.admit_owner(caller, Action::GrantConsent, scope, &request.owner_id)
            .await?;
        let consent = self
            .consents
            .grant(
                &request,
                &caller.label(),
                self.clock.now().to_offset(VIETNAM_OFFSET),
            )
            .await?;
        self.audit_consent(caller, Action::GrantConsent, &consent)
            .await?;
        Ok(consent)
    }

    /// Withdraws one of the citizen's consents; it stops counting on the next call, on
    /// every replica.
    pub async fn withdraw_consent(&self, caller: &Caller, consent_id: &str) -> Result<Consent> {
        self.authorize(caller, Action::WithdrawConsent)?;
        let owner = caller.citizen.clone().ok_or_else(|| {
            Error::PermissionDenied(
                "WithdrawConsent: the portal must name the citizen (x-saoy-citizen)".into(),
            )
        })?;
        let consent = self
            .consents
            .withdraw(
                &owner,
                consent_id.trim(),
                self.clock.now().to_offset(VIETNAM_OFFSET),
            )
            .await?
            .ok_or_else(|| {
                Error::PermissionDenied(format!(
                    "WithdrawConsent: this citizen has no consent {consent_id:?}"
                ))
            })?;
        self.audit_consent(caller, Action::WithdrawConsent, &consent)
            .await?;
        Ok(consent)
    }

    async fn audit_consent(&self, caller: &Caller, action: Action, c: &Consent) -> Result<()> {
        self.audit(
            caller,
            AuditEntry {
                action: action.name().into(),
                copy_id: c.copy_id.clone(),
                owner_id: Some(c.owner_id.clone()),
                consent_id: Some(c.id.clone()),
                outcome: "ok".into(),
                detail: Some(format!("agency {}", c.agency)),
                ..AuditEntry::default()
            },
        )
        .await
    }

    /// Every consent of the citizen, withdrawn ones included.
    pub async fn list_consents(&self, caller: &Caller, owner_id: &str) -> Result<Vec<Consent>> {
        let scope = self.authorize(caller, Action::ListConsents)?;
        records::validate_owner_id(owner_id)?;
        self.admit_owner(caller, Action::ListConsents, scope, owner_id)
            .await?;
        let consents = self.consents.list(owner_id).await?;
        self.audit_owner(caller, Action::ListConsents, owner_id, &[])
            .await?;
        Ok(consents)
    }

    /// Who read the citizen's copies or records, when, under which consent (from the audit
    /// log; the citizen's own reads through the portal are left out).
    pub async fn list_accesses(&self, caller: &Caller, owner_id: &str) -> Result<Vec<Access>> {
        let scope = self.authorize(caller, Action::ListAccesses)?;
        records::validate_owner_id(owner_id)?;
        self.admit_owner(caller, Action::ListAccesses, scope, owner_id)
            .await?;
        let filter = AuditFilter {
            owner_id: Some(owner_id.to_string()),
            ..AuditFilter::default()
        };
        let reads = [
            Action::ReadCopy,
            Action::VerifyCopy,
            Action::ListRecords,
            Action::FindReusable,
        ]
        .map(Action::name);
        let accesses = self
            .audit
            .entries(None, &filter)
            .await?
            .into_iter()
            .map(|(_, e)| e)
            .filter(|e| e.outcome == "ok" && reads.contains(&e.action.as_str()))
            .filter(|e| e.actor.role.as_deref() != Some("portal"))
            .map(|e| Access {
                who: format!(
                    "{}@{}",
                    e.actor.role.clone().unwrap_or_default(),
                    e.actor.agency.clone().unwrap_or_default()
                ),
                agency: e.actor.agency.unwrap_or_default(),
                at: e.at,
                action: e.action,
                copy_id: e.copy_id,
                consent_id: e.consent_id,
            })
            .collect();
        self.audit_owner(caller, Action::ListAccesses, owner_id, &[])
            .await?;
        Ok(accesses)
    }
}
