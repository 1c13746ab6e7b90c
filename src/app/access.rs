//! Who calls, and the one place where access is decided: [`App::identify`] turns what the
//! transport received into a [`Caller`] (or UNAUTHENTICATED), [`App::authorize`] finds the
//! rule of [`super::rules::RULES`] for the caller's role and the action (or
//! PERMISSION_DENIED), and the use case applies the rule's [`Scope`] to the data with
//! [`App::admitted_copy`] / [`App::admit_owner`].

use std::net::IpAddr;

pub use super::rules::Action;
use super::rules::{self, Scope};
use super::*;
use crate::identity::{self, Holder, Role};
use crate::verify::x509::{PathInput, PathOptions, RevocationMode, sub_name, validate_path};

/// What the transport received from a caller, before anything is believed.
#[derive(Clone, Debug, Default)]
pub struct Presented {
    /// The client certificate chain of the TLS session (DER, the client's own first);
    /// empty without one.
    pub certificates: Vec<Vec<u8>>,
    /// The citizen assertion (`x-saoy-citizen`), when sent.
    pub citizen_assertion: Option<String>,
    /// The peer's address.
    pub address: Option<IpAddr>,
}

/// Who is calling, as proven: the holder of a client certificate whose path was validated
/// (and, for the portal, the citizen its assertion names), or nobody.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// The certificate holder; `None` for a caller without a certificate.
    pub holder: Option<Holder>,
    /// The citizen the portal acts for in this call.
    pub citizen: Option<String>,
    /// The peer's address.
    pub address: Option<IpAddr>,
}

impl Caller {
    /// A caller without a certificate.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// The role of the caller; `None` without a certificate.
    pub fn role(&self) -> Option<Role> {
        self.holder.as_ref().map(|h| h.role)
    }

    /// The caller's agency code; `None` without a certificate.
    pub fn agency(&self) -> Option<&str> {
        self.holder.as_ref().map(|h| h.agency.as_str())
    }

    /// The identity for logs and records: `role:name@agency`, `anonymous` without one.
    pub fn label(&self) -> String {
        match &self.holder {
            Some(h) => format!("{}:{}@{}", h.role.name(), h.name, h.agency),
            None => "anonymous".into(),
        }
    }
}

/// The one message for a copy the caller may not read: the same whether the id exists or
/// belongs to someone else, so that nothing leaks.
fn copy_refused(action: Action, id: &str) -> Error {
    Error::PermissionDenied(format!(
        "{}: no certified copy {id:?} that this caller may read",
        action.name()
    ))
}

impl App {
    /// The DER subjects of the client CAs in force (hints for clients choosing a
    /// certificate).
    pub fn client_ca_subjects(&self) -> Vec<Vec<u8>> {
        self.client_trust
            .anchors()
            .iter()
            .filter_map(|a| {
                x509_parser::parse_x509_certificate(&a.der)
                    .ok()
                    .map(|(_, c)| c.subject().as_raw().to_vec())
            })
            .collect()
    }

    /// Judges what a caller presented: a client certificate must chain to a configured
    /// client CA, be valid now, not be revoked (a CRL of its issuer is required) and fit
    /// the role profile; a citizen assertion must be the portal's own. No certificate is
    /// an anonymous caller (public calls only).
    pub fn identify(&self, presented: &Presented) -> Result<Caller> {
        let Some(leaf) = presented.certificates.first() else {
            if presented.citizen_assertion.is_some() {
                return Err(Error::Unauthenticated(
                    "a citizen assertion (x-saoy-citizen) is only accepted on a connection with the portal's client certificate".into(),
                ));
            }
            return Ok(Caller {
                address: presented.address,
                ..Caller::default()
            });
        };
        let policy = self.client_trust.policy();
        let now = self.clock.now();
        let input = PathInput {
            end_entity: leaf,
            intermediates: &presented.certificates[1..],
            trust_anchors: &policy.trust_anchors,
            crls: &policy.crls,
            ocsp_responses: &[],
            time: std::time::SystemTime::from(now),
        };
        let options = PathOptions {
            revocation: RevocationMode::Require,
            ..PathOptions::default()
        };
        validate_path(&input, &options).map_err(|r| {
            Error::Unauthenticated(format!(
                "the client certificate is not accepted ({}): RFC 5280 {}: {}",
                sub_name(r.sub_indication),
                r.rfc5280_step,
                r.detail
            ))
        })?;
        let holder = identity::profile::read_holder(leaf)
            .map_err(|e| Error::Unauthenticated(e.to_string()))?;
        let citizen = match &presented.citizen_assertion {
            None => None,
            Some(_) if holder.role != Role::Portal => {
                return Err(Error::Unauthenticated(format!(
                    "a citizen assertion (x-saoy-citizen) is only accepted from the citizen portal, not from a {}",
                    holder.role.name()
                )));
            }
            Some(token) => Some(
                identity::verify(token, leaf, &holder.name, now.unix_timestamp())
                    .map_err(|e| Error::Unauthenticated(e.to_string()))?
                    .sub,
            ),
        };
        Ok(Caller {
            holder: Some(holder),
            citizen,
            address: presented.address,
        })
    }

    /// The rule that lets `caller` do `action`, from the one table [`rules::RULES`]
    /// (default deny). A caller without a certificate asking for more than the public
    /// calls gets UNAUTHENTICATED; a known caller without a rule, PERMISSION_DENIED naming
    /// the missing rule.
    pub fn authorize(&self, caller: &Caller, action: Action) -> Result<Scope> {
        match rules::find(action, caller.role()) {
            Some(scope) => {
                tracing::debug!(caller = %caller.label(), action = action.name(), ?scope, "allowed");
                Ok(scope)
            }
            None if caller.holder.is_none() => Err(Error::Unauthenticated(format!(
                "{} needs a client certificate (mutual TLS); only Verify of bytes, LookupByHash (status only) and health are public",
                action.name()
            ))),
            None => Err(Error::PermissionDenied(format!(
                "{}: the rules give a {} no right to this call",
                action.name(),
                caller.role().map_or("caller", Role::name)
            ))),
        }
    }

    /// Whether `caller` may do `action` (certifying, digitising) for its agency: a rule for
    /// its role, and a certificate naming an agency this deployment serves. Checked before
    /// an upload is read, and again by the use case.
    pub fn admit_own_agency(&self, caller: &Caller, action: Action) -> Result<()> {
        self.caller_agency(caller, action).map(drop)
    }

    /// The agency `caller` acts for in `action`: the one its certificate names (never one
    /// a request body names), when this deployment serves it and a rule allows the action.
    pub(crate) fn caller_agency(
        &self,
        caller: &Caller,
        action: Action,
    ) -> Result<Arc<agencies::Agency>> {
        self.authorize(caller, action)?;
        let code = caller.agency().unwrap_or("-");
        self.agencies.get(code).ok_or_else(|| {
            Error::PermissionDenied(format!(
                "{}: the caller's certificate is for agency {code}, which this service does not certify for (it serves {})",
                action.name(),
                self.agency_codes().join(", ")
            ))
        })
    }

    /// The record of copy `id` when `action` on it is allowed to `caller` (own agency, the
    /// citizen's own, or covered by a consent of its owner for the caller's agency), with the
    /// consent that allowed it; the same PERMISSION_DENIED for an unknown id and a copy the
    /// caller may not see.
    pub(crate) async fn admitted_copy(
        &self,
        caller: &Caller,
        action: Action,
        id: &str,
    ) -> Result<(Record, Option<String>)> {
        let scope = self.authorize(caller, action)?;
        let found = match uuid::Uuid::parse_str(id.trim()) {
            Ok(_) => self.registry.get(id.trim()).await?,
            Err(_) => None,
        };
        let Some(record) = found else {
            return Err(copy_refused(action, id));
        };
        let consent = match scope {
            Scope::Any | Scope::StatusOnly => None,
            Scope::OwnAgency if caller.agency() == Some(record.agency_code.as_str()) => None,
            Scope::CitizenOwn if caller.citizen.as_deref() == Some(record.owner_id.as_str()) => {
                None
            }
            Scope::WithConsent => {
                let agency = caller.agency().unwrap_or_default();
                let now = self.clock.now();
                let covering = self
                    .consents
                    .covering(&record.owner_id, agency, &record, now)
                    .await?;
                match covering {
                    Some(consent) => Some(consent.id),
                    None => return Err(copy_refused(action, id)),
                }
            }
            _ => return Err(copy_refused(action, id)),
        };
        Ok((record, consent))
    }

    /// Applies `scope` to a question about one citizen (`owner_id`): the portal only for the
    /// citizen it acts for; an agency only with a consent of that citizen for it (the
    /// consents are returned, to filter what it sees).
    pub(crate) async fn admit_owner(
        &self,
        caller: &Caller,
        action: Action,
        scope: Scope,
        owner_id: &str,
    ) -> Result<Vec<records::Consent>> {
        match scope {
            Scope::CitizenOwn if caller.citizen.as_deref() == Some(owner_id) => Ok(Vec::new()),
            Scope::CitizenOwn => Err(Error::PermissionDenied(format!(
                "{}: the portal may ask only for the citizen its assertion (x-saoy-citizen) names",
                action.name()
            ))),
            Scope::WithConsent => {
                let agency = caller.agency().unwrap_or_default();
                let now = self.clock.now();
                let consents = self.consents.in_force(owner_id, agency, now).await?;
                if consents.is_empty() {
                    return Err(Error::PermissionDenied(format!(
                        "{}: no consent of this citizen is in force for agency {agency}",
                        action.name()
                    )));
                }
                Ok(consents)
            }
            Scope::Any | Scope::StatusOnly | Scope::OwnAgency => Ok(Vec::new()),
        }
    }
}
