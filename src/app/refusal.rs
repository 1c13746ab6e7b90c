//! Refusing to certify (NĐ 23/2015/NĐ-CP Art. 22): whoever certifies either certifies or
//! refuses. A refusal names one of the article's six cases (with free text), takes no
//! certification number, and yields a refusal notice: a PDF/A page in Vietnamese stating
//! the request, the reason and its legal basis, signed by the agency like a copy, kept as
//! a record of kind `refusal` (the citizen's list, GetCopy, Verify) and in the book's
//! refusals. A pending copy refused has its number voided with the reason, decided once
//! by the pending copy's create-only outcome.

use super::*;
use crate::pdf::{NoticeContent, assemble_notice};
use crate::records::{Outcome, RecordKind, RefusalReason};

/// What is refused.
#[derive(Clone, Debug)]
pub enum RefusalSubject {
    /// A pending copy of the caller's agency (its number is voided).
    Copy(String),
    /// A request not certified: its metadata (page_count may be 0).
    Request(CertifyMeta),
}

/// A RefuseCertification request.
#[derive(Clone, Debug)]
pub struct RefuseInput {
    /// What is refused.
    pub subject: RefusalSubject,
    /// One of [`records::REFUSAL_REASONS`]'s codes.
    pub reason_code: String,
    /// Free text (at most 1000 characters).
    pub reason_text: String,
}

/// The outcome of a refusal.
#[derive(Clone, Debug)]
pub struct Refused {
    /// The refusal's record (kind refusal, number 0).
    pub record: Record,
    /// The signed notice.
    pub notice: Bytes,
    /// True when this refusal had already been made and is returned again.
    pub replayed: bool,
}

/// The title printed on a refusal notice.
pub const NOTICE_TITLE: &str = "THÔNG BÁO TỪ CHỐI CHỨNG THỰC BẢN SAO TỪ BẢN CHÍNH";

fn reason_of(input: &RefuseInput) -> Result<RefusalReason> {
    let text = input.reason_text.trim();
    if text.chars().count() > 1000
        || text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::InvalidArgument(
            "reason_text must be at most 1000 characters without control characters".into(),
        ));
    }
    records::refusal_reason(&input.reason_code, text).ok_or_else(|| {
        let codes: Vec<&str> = records::REFUSAL_REASONS.iter().map(|r| r.0).collect();
        Error::InvalidArgument(format!(
            "reason_code {:?} is not a case of Art. 22 NĐ 23/2015/NĐ-CP: use one of {}",
            input.reason_code,
            codes.join(", ")
        ))
    })
}

impl App {
    /// Refuses a pending copy or a request; see the module documentation. A retry returns
    /// the same refusal; a request already certified (or a copy already issued) is refused
    /// with FAILED_PRECONDITION / CONFLICT.
    pub async fn refuse_certification(
        self: &Arc<Self>,
        caller: &Caller,
        input: RefuseInput,
    ) -> Result<Refused> {
        let action = Action::RefuseCertification;
        let agency = self.caller_agency(caller, action)?;
        let reason = reason_of(&input)?;
        let refused = match &input.subject {
            RefusalSubject::Copy(id) => self.refuse_pending(&agency, id, reason).await?,
            RefusalSubject::Request(meta) => self.refuse_request(&agency, meta, reason).await?,
        };
        if !refused.replayed {
            self.audit_ok(caller, action, Some(&refused.record), None)
                .await?;
            tracing::info!(id = %refused.record.id, agency = %refused.record.agency_code, "certification refused");
        }
        Ok(refused)
    }

    /// A refusal already stored for `id`, if any.
    async fn stored_refusal(&self, id: &str) -> Result<Option<Refused>> {
        let Some(record) = self.registry.get(id).await? else {
            return Ok(None);
        };
        if record.kind != RecordKind::Refusal {
            return Err(Error::FailedPrecondition(format!(
                "{id} was certified as a copy (number {}): it can no longer be refused; revoke it instead",
                record.number
            )));
        }
        let notice = self.registry.copy_bytes(id).await?.ok_or_else(|| {
            Error::Internal(format!("refusal {id} exists but its notice is missing"))
        })?;
        Ok(Some(Refused {
            record,
            notice,
            replayed: true,
        }))
    }

    async fn refuse_request(
        self: &Arc<Self>,
        agency: &Arc<agencies::Agency>,
        meta: &CertifyMeta,
        reason: RefusalReason,
    ) -> Result<Refused> {
        let mut checked = meta.clone();
        checked.page_count = checked.page_count.max(1);
        self.check_metadata(&checked)?;
        let code = agency.config.code.clone();
        let guard = self
            .registry
            .begin_request(&code, &meta.client_request_id)
            .await?;
        let id = self
            .registry
            .claim_request(
                &code,
                &meta.client_request_id,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await?;
        if let Some(done) = self.stored_refusal(&id).await? {
            if done.record.owner_id != meta.owner_id
                || done.record.procedure_code != meta.procedure_code
            {
                return Err(Error::Conflict(format!(
                    "client_request_id {:?} was already used for another request; use a new id",
                    meta.client_request_id
                )));
            }
            return Ok(done);
        }
        if self.registry.pending().get(&code, &id).await?.is_some() {
            return Err(Error::FailedPrecondition(format!(
                "the request awaits its certifier's signature as copy {id}: refuse it with copy_id"
            )));
        }
        let record = self.refusal_record(agency, meta, &id, reason);
        let refused = self.sign_and_store_refusal(agency, record).await?;
        drop(guard);
        Ok(refused)
    }

    async fn refuse_pending(
        self: &Arc<Self>,
        agency: &Arc<agencies::Agency>,
        copy_id: &str,
        mut reason: RefusalReason,
    ) -> Result<Refused> {
        let code = agency.config.code.as_str();
        let refused = || {
            Error::PermissionDenied(format!(
                "RefuseCertification: no copy {copy_id:?} of agency {code} awaits a certifier's signature"
            ))
        };
        let id = copy_id.trim();
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(refused());
        }
        if let Some(done) = self.stored_refusal(id).await? {
            return Ok(done);
        }
        let pending = self.registry.pending();
        let Some(waiting) = pending.get(code, id).await? else {
            return Err(refused());
        };
        let void_reason = format!(
            "từ chối chứng thực ({}, {}): {}",
            reason.code, reason.legal_basis, reason.details
        );
        let void_reason = void_reason.trim_end_matches([':', ' ']).to_string();
        let decided = pending
            .decide(
                code,
                id,
                &Outcome::Voided {
                    reason: void_reason.clone(),
                    at: rfc3339(self.clock.now_vietnam()),
                },
            )
            .await?;
        match decided {
            Outcome::Issued { .. } => {
                return Err(Error::FailedPrecondition(format!(
                    "copy {id} was signed by its certifier and issued: it can no longer be refused; revoke it instead"
                )));
            }
            Outcome::Voided { reason: r, .. } if r != void_reason => {
                return Err(Error::FailedPrecondition(format!(
                    "copy {id} can no longer be refused: its number was voided ({r})"
                )));
            }
            Outcome::Voided { .. } => {}
        }
        self.void_number(&waiting.reservation(), &void_reason).await;
        if let Err(e) = pending.clear(&waiting).await {
            tracing::warn!(id, error = %e, "a refused pending copy's working files stay in the store");
        }
        reason.voided_number = Some(waiting.record.number);
        let w = &waiting.record;
        let meta = CertifyMeta {
            owner_id: w.owner_id.clone(),
            document_type: w.document_type.clone(),
            document_name: w.document_name.clone(),
            procedure_code: w.procedure_code.clone(),
            page_count: w.page_count,
            client_request_id: w.client_request_id.clone(),
            allow_low_resolution: false,
            certifier: String::new(),
        };
        let record = self.refusal_record(agency, &meta, id, reason);
        self.sign_and_store_refusal(agency, record).await
    }

    /// The record of a refusal (its notice hash and size filled when signed).
    fn refusal_record(
        &self,
        agency: &agencies::Agency,
        meta: &CertifyMeta,
        id: &str,
        reason: RefusalReason,
    ) -> Record {
        let now = self.clock.now_vietnam();
        let config = &agency.config;
        Record {
            schema_version: records::SCHEMA_VERSION,
            id: id.to_string(),
            agency_code: config.code.clone(),
            agency_name: config.name.clone(),
            number: 0,
            book: String::new(),
            year: now.year(),
            book_code: config.book_code.clone(),
            reference: String::new(),
            owner_id: meta.owner_id.clone(),
            document_type: meta.document_type.clone(),
            document_name: meta.document_name.clone(),
            procedure_code: meta.procedure_code.clone(),
            client_request_id: meta.client_request_id.clone(),
            issued_at: rfc3339(now),
            valid_until: None,
            status: RecordStatus::Valid,
            page_count: meta.page_count,
            copy_sha256: String::new(),
            copy_size: 0,
            originals: Vec::new(),
            signers: vec![certify::fingerprint(
                agency.signer.certificate(),
                &config.signer,
            )],
            kind: RecordKind::Refusal,
            refusal: Some(reason),
            fee_vnd: None,
        }
    }

    /// Builds the notice, signs it with the agency's key, verifies it and stores it.
    async fn sign_and_store_refusal(
        self: &Arc<Self>,
        agency: &Arc<agencies::Agency>,
        mut record: Record,
    ) -> Result<Refused> {
        let this = Arc::clone(self);
        let signing = Arc::clone(agency);
        let r = record.clone();
        let pdf = tokio::task::spawn_blocking(move || this.build_notice(&signing, &r))
            .await
            .map_err(|e| Error::Internal(format!("signing task: {e}")))??;
        record.copy_sha256 = sha256_hex(&pdf);
        record.copy_size = pdf.len() as u64;
        let notice = Bytes::from(pdf);
        self.registry
            .commit_refusal(&record, notice.clone())
            .await?;
        Ok(Refused {
            record,
            notice,
            replayed: false,
        })
    }

    fn build_notice(&self, agency: &agencies::Agency, record: &Record) -> Result<Vec<u8>> {
        let config = &agency.config;
        let now = OffsetDateTime::parse(
            &record.issued_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| Error::Internal(format!("refusal time: {e}")))?;
        let reason = record
            .refusal
            .as_ref()
            .ok_or_else(|| Error::Internal("a refusal without reason".into()))?;
        let mut paragraphs = vec![reason.text.clone()];
        if !reason.details.is_empty() {
            paragraphs.push(format!("Ghi chú: {}", reason.details));
        }
        if let Some(n) = reason.voided_number {
            paragraphs.push(format!(
                "Số chứng thực {n} đã dành cho yêu cầu này được ghi hủy trong sổ chứng thực."
            ));
        }
        let content = NoticeContent {
            id: record.id.clone(),
            agency: config.name.clone(),
            title: NOTICE_TITLE.into(),
            facts: vec![
                ("Cơ quan thực hiện chứng thực".into(), config.name.clone()),
                ("Loại giấy tờ".into(), record.document_type.clone()),
                ("Tên giấy tờ".into(), record.document_name.clone()),
                (
                    "Mã thủ tục hành chính".into(),
                    record.procedure_code.clone(),
                ),
                ("Ngày yêu cầu".into(), vietnamese_date(now)),
                (
                    "Kết quả".into(),
                    "Không chứng thực bản sao từ bản chính".into(),
                ),
            ],
            reason: paragraphs,
            legal_basis: reason.legal_basis.clone(),
            date_line: vietnamese_date(now),
            signing_time: now,
        };
        let notice = assemble_notice(&content)?;
        let pdf = sign_pdf(
            &notice.pdf,
            &SignRequest {
                credential: &agency.signer,
                field_name: "Signature_Agency".into(),
                page_index: notice.signature_area.page_index,
                rect: notice.signature_area.rect,
                signing_time: now,
                signer_name: Some(config.signer.name.clone()),
                reason: Some(format!("Từ chối chứng thực — {}", reason.legal_basis)),
                location: Some(config.location.clone()),
            },
        )?;
        self.check_issued(&pdf)?;
        Ok(pdf)
    }
}
