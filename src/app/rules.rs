//! The one table of access rules (docs/ARCHITECTURE.md, "Who may do what"). A row lets one
//! kind of caller do one action within a [`Scope`]; anything without a row is denied.

use crate::identity::Role;

/// What a caller asks to do, as seen by [`super::App::authorize`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Certify an original (number, sign, store a copy).
    Certify,
    /// Sign a pending copy with the certifier's own key (CompleteCertification).
    CompleteCertification,
    /// List the copies awaiting a certifier's signature.
    ListPendingCertifications,
    /// Refuse to certify (NĐ 23/2015 Art. 22): a pending copy or a request.
    RefuseCertification,
    /// Digitise scans into a PDF/A (back office), and read the job.
    Digitize,
    /// Verify a PDF the caller sent.
    VerifyBytes,
    /// Verify a stored copy by its id.
    VerifyCopy,
    /// Read a copy and its record.
    ReadCopy,
    /// List an owner's records.
    ListRecords,
    /// Find an owner's reusable results.
    FindReusable,
    /// Ask whether a file is a copy issued here.
    LookupByHash,
    /// Revoke a copy.
    RevokeCopy,
    /// Grant a consent.
    GrantConsent,
    /// Withdraw a consent.
    WithdrawConsent,
    /// List a citizen's consents.
    ListConsents,
    /// List who read a citizen's copies.
    ListAccesses,
    /// Read a copy's public standing (agency, number, date, status, hashes, signers'
    /// names and titles; nothing personal): the page the QR code leads to.
    PublicStanding,
}

impl Action {
    /// The name used in messages and the audit log (the RPC's name where there is one).
    pub fn name(self) -> &'static str {
        match self {
            Action::Certify => "Certify",
            Action::CompleteCertification => "CompleteCertification",
            Action::ListPendingCertifications => "ListPendingCertifications",
            Action::RefuseCertification => "RefuseCertification",
            Action::Digitize => "Digitize",
            Action::VerifyBytes => "Verify",
            Action::VerifyCopy => "VerifyCopy",
            Action::ReadCopy => "GetCopy",
            Action::ListRecords => "ListRecords",
            Action::FindReusable => "FindReusable",
            Action::LookupByHash => "LookupByHash",
            Action::RevokeCopy => "RevokeCopy",
            Action::GrantConsent => "GrantConsent",
            Action::WithdrawConsent => "WithdrawConsent",
            Action::ListConsents => "ListConsents",
            Action::ListAccesses => "ListAccesses",
            Action::PublicStanding => "PublicStanding",
        }
    }
}

/// How far a rule reaches; the use case applies it to the data it touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Without condition (public calls, and lookups by hash for certificate holders).
    Any,
    /// Only the status of a copy, no personal data (LookupByHash without a certificate).
    StatusOnly,
    /// Only copies of the caller's own agency (and certifying for it).
    OwnAgency,
    /// Only what a consent of the citizen, in force for the caller's agency, covers.
    WithConsent,
    /// Only the citizen's own, as the portal's assertion names them.
    CitizenOwn,
}

/// Who a rule is for: a role, or a caller without a certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Holders of a client certificate with this role.
    Role(Role),
    /// Callers without a client certificate.
    Anonymous,
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The action.
    pub action: Action,
    /// The caller it is for.
    pub who: Who,
    /// How far it reaches.
    pub scope: Scope,
}

const fn rule(action: Action, who: Who, scope: Scope) -> Rule {
    Rule { action, who, scope }
}

use Action as A;
use Role::{Admin, Certifier, Clerk, Portal, Verifier};
use Scope::{Any, CitizenOwn, OwnAgency, StatusOnly, WithConsent};
use Who::{Anonymous, Role as R};

/// Every right there is. Where the table is silent: deny.
pub const RULES: &[Rule] = &[
    // Issuing copies: the agency's own staff.
    rule(A::Certify, R(Clerk), OwnAgency),
    rule(A::Certify, R(Certifier), OwnAgency),
    // The certifier signs pending copies on their own device.
    rule(A::CompleteCertification, R(Certifier), OwnAgency),
    rule(A::ListPendingCertifications, R(Certifier), OwnAgency),
    // Whoever certifies may refuse instead (a refusal notice, no number).
    rule(A::RefuseCertification, R(Clerk), OwnAgency),
    rule(A::RefuseCertification, R(Certifier), OwnAgency),
    rule(A::Digitize, R(Clerk), OwnAgency),
    rule(A::Digitize, R(Certifier), OwnAgency),
    // Verifying bytes is public.
    rule(A::VerifyBytes, R(Clerk), Any),
    rule(A::VerifyBytes, R(Certifier), Any),
    rule(A::VerifyBytes, R(Admin), Any),
    rule(A::VerifyBytes, R(Verifier), Any),
    rule(A::VerifyBytes, R(Portal), Any),
    rule(A::VerifyBytes, Anonymous, Any),
    // A stored copy: its agency, an agency the citizen consented to, the citizen.
    rule(A::VerifyCopy, R(Clerk), OwnAgency),
    rule(A::VerifyCopy, R(Certifier), OwnAgency),
    rule(A::VerifyCopy, R(Admin), OwnAgency),
    rule(A::VerifyCopy, R(Verifier), WithConsent),
    rule(A::VerifyCopy, R(Portal), CitizenOwn),
    rule(A::ReadCopy, R(Clerk), OwnAgency),
    rule(A::ReadCopy, R(Certifier), OwnAgency),
    rule(A::ReadCopy, R(Admin), OwnAgency),
    rule(A::ReadCopy, R(Verifier), WithConsent),
    rule(A::ReadCopy, R(Portal), CitizenOwn),
    // A citizen's records: the clerk serving them (with their consent), the citizen.
    rule(A::ListRecords, R(Clerk), WithConsent),
    rule(A::ListRecords, R(Portal), CitizenOwn),
    rule(A::FindReusable, R(Clerk), WithConsent),
    rule(A::FindReusable, R(Verifier), WithConsent),
    rule(A::FindReusable, R(Portal), CitizenOwn),
    // Is this file ours? Anyone; without a certificate, the status only.
    rule(A::LookupByHash, R(Clerk), Any),
    rule(A::LookupByHash, R(Certifier), Any),
    rule(A::LookupByHash, R(Admin), Any),
    rule(A::LookupByHash, R(Verifier), Any),
    rule(A::LookupByHash, R(Portal), Any),
    rule(A::LookupByHash, Anonymous, StatusOnly),
    // The page the QR code leads to: anyone, the standing only (no owner, no personal ID).
    rule(A::PublicStanding, Anonymous, StatusOnly),
    // Revocation: the agency's administrator.
    rule(A::RevokeCopy, R(Admin), OwnAgency),
    // Consents and the accesses to one's copies: the citizen, through the portal.
    rule(A::GrantConsent, R(Portal), CitizenOwn),
    rule(A::WithdrawConsent, R(Portal), CitizenOwn),
    rule(A::ListConsents, R(Portal), CitizenOwn),
    rule(A::ListAccesses, R(Portal), CitizenOwn),
];

/// The scope of the rule for `action` and a caller of `role` (`None`: no certificate).
pub fn find(action: Action, role: Option<Role>) -> Option<Scope> {
    let who = role.map_or(Anonymous, R);
    RULES
        .iter()
        .find(|r| r.action == action && r.who == who)
        .map(|r| r.scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_and_caller_has_at_most_one_rule() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert!(
                    !(a.action == b.action && a.who == b.who),
                    "two rules for {:?} {:?}",
                    a.action,
                    a.who
                );
            }
        }
    }

    #[test]
    fn silence_is_deny() {
        assert_eq!(find(Action::RevokeCopy, Some(Role::Clerk)), None);
        assert_eq!(find(Action::Certify, None), None);
        assert_eq!(find(Action::ListRecords, Some(Role::Verifier)), None);
        assert_eq!(find(Action::GrantConsent, Some(Role::Admin)), None);
        assert_eq!(find(Action::LookupByHash, None), Some(Scope::StatusOnly));
        assert_eq!(find(Action::PublicStanding, None), Some(Scope::StatusOnly));
        assert_eq!(find(Action::PublicStanding, Some(Role::Clerk)), None);
    }
}
