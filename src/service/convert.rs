//! Conversions between internal types and protobuf messages.

use crate::app::{Access, PendingSignature};
use crate::proto;
use crate::records::{Consent, Record, RecordKind, RecordStatus, SignerFingerprint};
use crate::verify::{Indication, Report, SignatureReport, SubIndication};

fn indication(i: Indication) -> String {
    serde_json::to_value(i)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn sub_indication(s: Option<SubIndication>) -> String {
    s.and_then(|s| serde_json::to_value(s).ok())
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Record → protobuf.
pub fn record(r: &Record) -> proto::CertificationRecord {
    proto::CertificationRecord {
        id: r.id.clone(),
        number: r.number,
        book: r.book.clone(),
        year: u32::try_from(r.year).unwrap_or_default(),
        reference: r.reference.clone(),
        agency: r.agency_name.clone(),
        owner_id: r.owner_id.clone(),
        document_type: r.document_type.clone(),
        document_name: r.document_name.clone(),
        procedure_code: r.procedure_code.clone(),
        issued_at: r.issued_at.clone(),
        page_count: r.page_count,
        copy_sha256: r.copy_sha256.clone(),
        original_sha256: r.originals.iter().map(|o| o.sha256.clone()).collect(),
        signers: r.signers.iter().map(signer).collect(),
        status: match &r.status {
            RecordStatus::Valid => "valid".into(),
            RecordStatus::Revoked { .. } => "revoked".into(),
        },
        client_request_id: r.client_request_id.clone(),
        valid_until: r.valid_until.clone().unwrap_or_default(),
        revocation: match &r.status {
            RecordStatus::Valid => None,
            RecordStatus::Revoked {
                reason,
                by,
                at,
                decision_number,
                decision_date,
                decided_by,
            } => Some(proto::Revocation {
                reason: reason.clone(),
                by: by.clone(),
                at: at.clone(),
                decision_number: decision_number.clone(),
                decision_date: decision_date.clone(),
                decided_by: decided_by.clone(),
            }),
        },
        warnings: Vec::new(),
        pending: None,
        kind: match r.kind {
            RecordKind::Copy => "copy".into(),
            RecordKind::Refusal => "refusal".into(),
        },
        refusal: r.refusal.as_ref().map(|f| proto::Refusal {
            reason_code: f.code.clone(),
            reason: f.text.clone(),
            legal_basis: f.legal_basis.clone(),
            details: f.details.clone(),
            voided_number: f.voided_number.unwrap_or_default(),
        }),
        fee_vnd: r.fee_vnd.unwrap_or_default(),
    }
}

/// Marks a record as awaiting its certifier's signature, with what to sign.
pub fn set_pending(record: &mut proto::CertificationRecord, p: &PendingSignature) {
    record.status = "awaiting_signature".into();
    record.copy_sha256.clear();
    record.pending = Some(proto::PendingSignature {
        signed_attributes: p.signed_attributes.clone(),
        digest: p.digest.clone(),
        digest_algorithm: match p.digest.len() {
            48 => "sha-384".into(),
            _ => "sha-256".into(),
        },
        signature_algorithm: p.algorithm.clone(),
        signer_certificate: p.signer_certificate.clone(),
        certifier: p.certifier_id.clone(),
        deadline: p.deadline.clone(),
    });
}

fn signer(s: &SignerFingerprint) -> proto::SignerInfo {
    proto::SignerInfo {
        subject: s.subject.clone(),
        issuer: s.issuer.clone(),
        serial: s.serial.clone(),
        sha256_fingerprint: s.sha256.clone(),
        certificate: Vec::new(),
    }
}

/// Report → protobuf (with the CLI's JSON alongside).
pub fn report(r: &Report) -> proto::VerificationReport {
    proto::VerificationReport {
        status: indication(r.status),
        sub_indication: sub_indication(r.sub_indication),
        signatures: r.signatures.iter().map(signature).collect(),
        messages: r.messages.clone(),
        json: r.to_json(),
    }
}

fn signature(s: &SignatureReport) -> proto::SignatureReport {
    proto::SignatureReport {
        field: s.field.clone(),
        status: indication(s.status),
        sub_indication: sub_indication(s.sub_indication),
        signer: s.signer.as_ref().map(|x| proto::SignerInfo {
            subject: x.subject.clone(),
            issuer: x.issuer.clone(),
            serial: x.serial.clone(),
            sha256_fingerprint: String::new(),
            certificate: Vec::new(),
        }),
        signing_time: s.signing_time.clone().unwrap_or_default(),
        timestamp: s.timestamp.clone().unwrap_or_default(),
        covers_whole_document: s.covers_whole_document,
        modified_after_signing: s.modified_after_signing,
        level: s.level.clone().unwrap_or_default(),
        messages: s
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| format!("{}: {}", c.name, c.detail))
            .collect(),
    }
}

/// Consent → protobuf, with whether it is in force at `now`.
pub fn consent(c: &Consent, now: time::OffsetDateTime) -> proto::Consent {
    proto::Consent {
        id: c.id.clone(),
        owner_id: c.owner_id.clone(),
        agency: c.agency.clone(),
        copy_id: c.copy_id.clone().unwrap_or_default(),
        document_type: c.document_type.clone().unwrap_or_default(),
        purpose: c.purpose.clone(),
        valid_until: c.valid_until.clone().unwrap_or_default(),
        granted_at: c.granted_at.clone(),
        withdrawn_at: c.withdrawn_at.clone().unwrap_or_default(),
        in_force: c.in_force(now),
    }
}

/// Access → protobuf.
pub fn access(a: Access) -> proto::Access {
    proto::Access {
        at: a.at,
        agency: a.agency,
        who: a.who,
        action: a.action,
        copy_id: a.copy_id.unwrap_or_default(),
        consent_id: a.consent_id.unwrap_or_default(),
    }
}
