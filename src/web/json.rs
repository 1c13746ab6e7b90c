//! The JSON faces: a copy's standing (`GET /api/v1/copies/{id}`, and `copy` in the answer
//! of `POST /api/v1/verify`) and the verification answer (the JSON of
//! `saoy verify --format json`, its top-level keys unchanged, plus `copy`).

use serde_json::{Value, json};

use crate::app::{PublicSignature, PublicVerification, Standing};

use super::verdict::etsi_name;

fn signature(s: &PublicSignature) -> Value {
    json!({
        "field": s.field,
        "name": s.name,
        "title": s.title,
        "signing_time": s.claimed_time,
        "timestamp": s.timestamp,
        "level": s.level,
        "status": etsi_name(&s.status),
        "sub_indication": s.sub_indication.map(|x| etsi_name(&x)),
    })
}

/// The standing as JSON: `agency` (name), `agency_code`, `number`, `book`, `book_code`,
/// `year`, `reference`, `issued_at`, `valid_until`, `status` (`valid` / `revoked` /
/// `expired`), `kind` (`copy` / `refusal`), `revocation` (`decision`, `at`,
/// `decision_number`, `decision_date`, `decided_by`, or null), `versions` (`sha256`, `size`,
/// `issued_at`), `signers` (`name`, `title`, times, level, ETSI indications) and
/// `timestamps` (document time-stamps: `authority`, `time`).
pub fn standing(s: &Standing) -> Value {
    json!({
        "id": s.id,
        "url": s.url,
        "agency": s.agency_name,
        "agency_code": s.agency_code,
        "number": s.number,
        "book": s.book,
        "book_code": s.book_code,
        "year": s.year,
        "reference": s.reference,
        "issued_at": s.issued_at,
        "valid_until": s.valid_until,
        "status": s.status.as_str(),
        "kind": s.kind,
        "revocation": s.revocation.as_ref().map(|r| json!({
            "decision": r.decision,
            "at": r.at,
            "decision_number": r.decision_number,
            "decision_date": r.decision_date,
            "decided_by": r.decided_by,
        })),
        "versions": s.versions.iter().map(|v| json!({
            "sha256": v.sha256,
            "size": v.size,
            "issued_at": v.issued_at,
        })).collect::<Vec<_>>(),
        "signers": s.signatures.iter().filter(|x| !x.document_timestamp).map(signature).collect::<Vec<_>>(),
        "timestamps": s.signatures.iter().filter(|x| x.document_timestamp).map(|t| json!({
            "authority": t.name,
            "time": t.claimed_time.clone().or_else(|| t.timestamp.clone()),
        })).collect::<Vec<_>>(),
    })
}

/// The verification answer: the report's JSON (as `saoy verify --format json` prints it)
/// plus `copy`, the standing when the file is a copy issued here, else null.
pub fn verification(v: &PublicVerification) -> Value {
    let mut value: Value = serde_json::from_str(&v.report.to_json()).unwrap_or_else(|_| json!({}));
    if let Some(map) = value.as_object_mut() {
        map.insert("copy".into(), v.copy.as_ref().map_or(Value::Null, standing));
    }
    value
}
