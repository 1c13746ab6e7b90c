//! Certify: digitise, number, assemble, sign twice, self-verify, store.

use std::time::Instant;

use super::*;
use crate::metrics::{Stage, VerifySource};
use crate::sign::sign_pdf_stamped;

/// What a clerk declares about the original (everything but the files).
#[derive(Clone, Debug, Default)]
pub struct CertifyMeta {
    /// Owner's 12-digit personal identification number.
    pub owner_id: String,
    /// Kind of document.
    pub document_type: String,
    /// Title of the document.
    pub document_name: String,
    /// National procedure code `^[12]\.\d{6}$`.
    pub procedure_code: String,
    /// Pages the clerk counted on the original.
    pub page_count: u32,
    /// Idempotency key.
    pub client_request_id: String,
    /// Accept scans under the minimum resolution.
    pub allow_low_resolution: bool,
    /// The id of the agency's certifier who certifies (empty: the agency's first).
    pub certifier: String,
}

/// What a clerk submits to certify one original.
#[derive(Clone, Debug, Default)]
pub struct CertifyInput {
    /// The declared metadata.
    pub meta: CertifyMeta,
    /// The original's files in page order.
    pub files: Vec<UploadedFile>,
}

/// Outcome of a Certify call.
#[derive(Clone, Debug)]
pub struct Certified {
    /// The stored record.
    pub record: Record,
    /// True when the request id had already been served and the first copy is returned.
    pub replayed: bool,
    /// Things the clerk should look at (e.g. a page that looks blank); empty on a replay.
    pub warnings: Vec<String>,
    /// Set when the copy awaits its certifier's signature (made on the certifier's own
    /// device): the record is then what will be issued, not yet stored.
    pub pending: Option<super::pending::PendingSignature>,
}

impl App {
    /// Checks the request fields before any upload is read.
    pub fn check_metadata(&self, input: &CertifyMeta) -> Result<()> {
        records::validate_owner_id(&input.owner_id)?;
        records::validate_procedure_code(&input.procedure_code)?;
        records::validate_client_request_id(&input.client_request_id)?;
        for (field, value, max) in [
            ("document_type", &input.document_type, 200usize),
            ("document_name", &input.document_name, 500usize),
        ] {
            if value.trim().is_empty() {
                return Err(Error::InvalidArgument(format!(
                    "{field} is empty: say what document this is"
                )));
            }
            if value.chars().count() > max || value.chars().any(char::is_control) {
                return Err(Error::InvalidArgument(format!(
                    "{field} must be at most {max} characters without control characters"
                )));
            }
        }
        if input.page_count == 0 {
            return Err(Error::InvalidArgument(
                "page_count is 0: give the number of pages counted on the original".into(),
            ));
        }
        if input.page_count > self.config.limits.max_pages {
            return Err(Error::TooLarge(format!(
                "page_count {} exceeds the limit of {} pages per copy",
                input.page_count, self.config.limits.max_pages
            )));
        }
        Ok(())
    }

    /// Certifies an original: digitise, number, assemble, sign twice, self-verify, store.
    /// A retry with the same client request id returns the first copy.
    pub async fn certify(
        self: &Arc<Self>,
        caller: &Caller,
        input: CertifyInput,
    ) -> Result<Certified> {
        let agency = self.caller_agency(caller, Action::Certify)?;
        self.check_metadata(&input.meta)?;
        let meta = &input.meta;
        let certifier = agency.certifier(&meta.certifier)?;
        if input.files.is_empty() {
            return Err(Error::InvalidArgument(
                "no file received: send the scans or PDF of the original after the request".into(),
            ));
        }
        let agency_code = agency.config.code.clone();
        let guard = self
            .registry
            .begin_request(&agency_code, &meta.client_request_id)
            .await?;
        if let Some(existing) = guard.existing.clone() {
            return replay(meta, existing);
        }

        let files = Arc::new(input.files);
        let (digitized, warnings) = self.digitize_counted(meta, &files).await?;

        // Claim the request id for a copy id before a number is taken: a retry after a
        // failure anywhere below (even on another replica) reuses this id, never a second copy.
        let id = self
            .registry
            .claim_request(
                &agency_code,
                &meta.client_request_id,
                &uuid::Uuid::now_v7().to_string(),
            )
            .await?;
        if let Some(done) = self.registry.get(&id).await? {
            return replay(meta, done);
        }
        if let Some(waiting) = self.pending_replay(&agency_code, &id).await? {
            return Ok(waiting);
        }

        let now = self.clock.now_vietnam();
        let reservation = self
            .registry
            .reserve_number(&agency_code, now.year())
            .await?;
        let this = Arc::clone(self);
        let reference = reservation_reference(&reservation, &agency.config.book_code);
        let copy_id = id.clone();
        let facts = ArchiveFacts {
            facts: vec![
                ("Loại giấy tờ".into(), meta.document_type.clone()),
                ("Tên giấy tờ".into(), meta.document_name.clone()),
                ("Mã TTHC".into(), meta.procedure_code.clone()),
                ("Số chứng thực".into(), reference.clone()),
                ("Mã bản sao".into(), id.clone()),
            ],
        };
        let signing_agency = Arc::clone(&agency);
        let certifier_id = certifier.map(|c| c.id.clone());
        let built = tokio::task::spawn_blocking(move || {
            let certifier = match &certifier_id {
                Some(id) => signing_agency.certifier(id)?,
                None => None,
            };
            let parts = Parts {
                agency: &signing_agency,
                certifier,
                digitized: &digitized,
                facts: &facts,
                copy_id: &copy_id,
                reference: &reference,
                now,
            };
            this.build_and_sign(&parts)
        })
        .await
        .map_err(|e| Error::Internal(format!("signing task: {e}")));
        let (built, unstamped) = match built {
            Ok(Ok(v)) => v,
            Ok(Err(e)) | Err(e) => {
                self.void_number(&reservation, &format!("copy could not be produced: {e}"))
                    .await;
                return Err(e);
            }
        };
        let certifier = agency.certifier(&meta.certifier)?;
        let mut record = self.make_record(meta, &id, &reservation, now, &files, &agency, certifier);
        let originals: Vec<Bytes> = files.iter().map(|f| f.data.clone()).collect();
        let warnings = [warnings, unstamped].concat();
        let pdf = match built {
            Built::Signed(pdf) => pdf,
            Built::AwaitingCertifier(prepared) => {
                let waiting = self
                    .keep_pending(record, prepared, originals, &reservation, certifier)
                    .await?;
                drop(guard);
                self.audit_ok(caller, Action::Certify, Some(&waiting.record), None)
                    .await?;
                return Ok(Certified {
                    warnings,
                    ..waiting
                });
            }
        };
        record.copy_sha256 = sha256_hex(&pdf);
        record.copy_size = pdf.len() as u64;
        if let Err(e) = self
            .commit_timed(&reservation, &record, Bytes::from(pdf), originals)
            .await
        {
            self.void_number(&reservation, &format!("copy could not be stored: {e}"))
                .await;
            return Err(e);
        }
        drop(guard);
        self.audit_ok(caller, Action::Certify, Some(&record), None)
            .await?;
        tracing::info!(id = %record.id, agency = %record.agency_code, number = record.number, "certified copy issued");
        Ok(Certified {
            record,
            replayed: false,
            warnings,
            pending: None,
        })
    }
}

impl App {
    /// Digitises the original under its document type's policy and checks the page count
    /// the clerk declared; returns the pages and the warnings for the clerk.
    async fn digitize_counted(
        &self,
        meta: &CertifyMeta,
        files: &Arc<Vec<UploadedFile>>,
    ) -> Result<(digitize::Digitized, Vec<String>)> {
        let options = DigitizeOptions {
            min_dpi: self.config.limits.min_dpi,
            allow_low_resolution: meta.allow_low_resolution,
            max_pixels_per_page: self.config.limits.max_pixels_per_page,
            max_pages: self.config.limits.max_pages,
        };
        let scan_policy = self.policies.lookup(&meta.document_type).clone();
        let digitized = self
            .digitize_timed(Arc::clone(files), options, scan_policy)
            .await?;
        let warnings: Vec<String> = digitized
            .warnings
            .iter()
            .map(|w| format!("page {}: {}", w.page, w.message))
            .collect();
        if digitized.pages.len() != meta.page_count as usize {
            return Err(Error::InvalidArgument(format!(
                "received {} pages but the clerk counted {}: check that every page was scanned, in order",
                digitized.pages.len(),
                meta.page_count
            )));
        }

        Ok((digitized, warnings))
    }
}

/// The first copy of a request id used again, if the request is the same.
fn replay(meta: &CertifyMeta, existing: Record) -> Result<Certified> {
    if existing.kind != records::RecordKind::Copy {
        return Err(Error::FailedPrecondition(format!(
            "client_request_id {:?} was refused (refusal {}): certify again with a new client_request_id",
            meta.client_request_id, existing.id
        )));
    }
    if existing.owner_id != meta.owner_id || existing.procedure_code != meta.procedure_code {
        return Err(Error::Conflict(format!(
            "client_request_id {:?} was already used for another request (copy {}); use a new id",
            meta.client_request_id, existing.id
        )));
    }
    Ok(Certified {
        record: existing,
        replayed: true,
        warnings: Vec::new(),
        pending: None,
    })
}

/// What one copy is made of, for [`App::build_and_sign`].
struct Parts<'a> {
    agency: &'a agencies::Agency,
    certifier: Option<&'a agencies::Certifier>,
    digitized: &'a digitize::Digitized,
    facts: &'a ArchiveFacts,
    copy_id: &'a str,
    reference: &'a str,
    now: OffsetDateTime,
}

/// A built copy: signed and verified, or signed by the agency and waiting for the
/// certifier's signature made on their own device.
pub(super) enum Built {
    /// Both signatures made; the copy verifies.
    Signed(Vec<u8>),
    /// The agency's signature made, the certifier's prepared.
    AwaitingCertifier(crate::sign::ExternalSignature),
}

impl App {
    /// Enters a reserved number as void with `reason`, so the book keeps no gap. A failure
    /// to do so is logged: the entry then stays "reserved" for `store check` to settle.
    pub(super) async fn void_number(&self, reservation: &records::Reservation, reason: &str) {
        if let Err(void_err) = self
            .registry
            .void(&reservation.agency_code, reservation, reason)
            .await
        {
            tracing::error!(number = reservation.number, %void_err, "could not void a reserved number");
        }
    }

    /// Assembles the copy and signs it: the agency's signature over the page-1 stamp, then
    /// the certifier's over the certification block, each in its own incremental update.
    /// A certifier who signs on their own device gets the second update prepared instead.
    fn build_and_sign(&self, p: &Parts<'_>) -> Result<(Built, Vec<String>)> {
        let agency = &p.agency.config;
        let certifier = p.certifier.map(|c| &c.config);
        let content = CopyContent {
            copy_id: p.copy_id.to_string(),
            qr_payload: self.public_copy_url(p.copy_id),
            statement: agency.statement.clone(),
            reference: format!("Số chứng thực: {}", p.reference),
            date_line: vietnamese_date(p.now),
            certifier_title: certifier.map(|c| c.title.clone()).unwrap_or_default(),
            certifier_name: certifier.map(|c| c.name.clone()).unwrap_or_default(),
            agency: agency.name.clone(),
            stamp_lines: vec![
                agency.copy_type.clone(),
                agency.name.clone(),
                rfc3339(p.now),
            ],
            title: format!("Bản sao chứng thực {}", p.copy_id),
            signing_time: p.now,
            pdfa: true,
        };
        let started = Instant::now();
        let assembled = assemble::assemble_with(p.digitized, &content, p.facts)?;
        self.metrics.stage(Stage::Assemble, started.elapsed());
        let started = Instant::now();
        let mut unstamped = Vec::new();
        let mut pdf = self.sign_counted(
            &mut unstamped,
            &assembled.pdf,
            &SignRequest {
                credential: &p.agency.signer,
                field_name: "Signature_Agency".into(),
                page_index: assembled.stamp_area.page_index,
                rect: assembled.stamp_area.rect,
                signing_time: p.now,
                signer_name: Some(agency.signer.name.clone()),
                reason: Some(agency.copy_type.clone()),
                location: Some(agency.location.clone()),
            },
        )?;
        if let Some(certifier) = p.certifier {
            let request = SignRequest {
                credential: &certifier.credential,
                field_name: "Signature_Certifier".into(),
                page_index: assembled.certification_area.page_index,
                rect: assembled.certification_area.rect,
                signing_time: p.now,
                signer_name: Some(certifier.config.name.clone()),
                reason: Some(agency.statement.clone()),
                location: Some(agency.location.clone()),
            };
            if certifier.external {
                let room = self
                    .stamping
                    .stamper()
                    .map_or(0, crate::sign::token_room_of);
                let prepared = crate::sign::prepare_external_stamped(&pdf, &request, room)?;
                self.metrics.stage(Stage::Sign, started.elapsed());
                return Ok((Built::AwaitingCertifier(prepared), unstamped));
            }
            pdf = self.sign_counted(&mut unstamped, &pdf, &request)?;
        }
        self.metrics.stage(Stage::Sign, started.elapsed());
        let started = Instant::now();
        self.check_issued(&pdf)?;
        self.metrics.stage(Stage::Verify, started.elapsed());
        Ok((Built::Signed(pdf), unstamped))
    }

    /// One signature at the configured level, counted by outcome. When no TSA answers and
    /// `tsa.allow_unstamped` is set, the signature is made B-B and `unstamped` says so.
    fn sign_counted(
        &self,
        unstamped: &mut Vec<String>,
        pdf: &[u8],
        request: &SignRequest<'_>,
    ) -> Result<Vec<u8>> {
        let mut signed = sign_pdf_stamped(pdf, request, self.stamping.stamper());
        if let Err(crate::sign::SignError::TimeStamp(why)) = &signed
            && self.stamping.allow_unstamped
        {
            let note = format!(
                "signature {} is B-B, without a time-stamp (tsa.allow_unstamped): {why}",
                request.field_name
            );
            tracing::warn!(%note, "signed without a time-stamp");
            unstamped.push(note);
            signed = sign_pdf_stamped(pdf, request, None);
        }
        self.metrics.signed(signed.is_ok());
        Ok(signed?)
    }

    /// Digitises the original on a blocking thread, timed as the `digitise` stage.
    async fn digitize_timed(
        &self,
        files: Arc<Vec<UploadedFile>>,
        options: DigitizeOptions,
        scan_policy: DocumentPolicy,
    ) -> Result<digitize::Digitized> {
        let started = Instant::now();
        let digitized =
            tokio::task::spawn_blocking(move || digitize_original(&files, &options, &scan_policy))
                .await
                .map_err(|e| Error::Internal(format!("digitize task: {e}")))??;
        self.metrics.stage(Stage::Digitise, started.elapsed());
        Ok(digitized)
    }

    /// Commits the copy, its originals, record and indexes, timed as the `store` stage.
    async fn commit_timed(
        &self,
        reservation: &records::Reservation,
        record: &Record,
        pdf: Bytes,
        originals: Vec<Bytes>,
    ) -> Result<()> {
        let started = Instant::now();
        let committed = self
            .registry
            .commit(reservation, record, pdf, originals)
            .await;
        self.metrics.stage(Stage::Store, started.elapsed());
        Ok(committed?)
    }

    /// Never store what does not verify.
    pub(super) fn check_issued(&self, pdf: &[u8]) -> Result<()> {
        let report = verify_pdf(pdf, &self.policy());
        self.metrics
            .verified(VerifySource::Issued, outcome_of(&report));
        if !report.is_passed() {
            return Err(Error::Internal(format!(
                "the freshly signed copy does not verify: {}",
                report.render_text()
            )));
        }
        Ok(())
    }

    /// The record of a copy (its hash and size filled when the bytes are final);
    /// `page_count` is the original's (the copy adds one page).
    #[allow(clippy::too_many_arguments)]
    fn make_record(
        &self,
        meta: &CertifyMeta,
        id: &str,
        reservation: &records::Reservation,
        now: OffsetDateTime,
        files: &[UploadedFile],
        agency: &agencies::Agency,
        certifier: Option<&agencies::Certifier>,
    ) -> Record {
        let config = &agency.config;
        let mut signers = vec![fingerprint(agency.signer.certificate(), &config.signer)];
        if let Some(c) = certifier {
            signers.push(fingerprint(c.credential.certificate(), &c.config));
        }
        Record {
            schema_version: 1,
            id: id.to_string(),
            agency_code: config.code.clone(),
            agency_name: config.name.clone(),
            number: reservation.number,
            book: reservation.book.clone(),
            year: reservation.year,
            book_code: config.book_code.clone(),
            reference: reservation_reference(reservation, &config.book_code),
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
            originals: files
                .iter()
                .map(|f| OriginalFile {
                    name: f.name.clone(),
                    media_type: f.media_type.clone().unwrap_or_default(),
                    sha256: sha256_hex(&f.data),
                    size: f.data.len() as u64,
                })
                .collect(),
            signers,
            kind: records::RecordKind::Copy,
            refusal: None,
            fee_vnd: Some(self.config.fees.fee(meta.page_count)),
        }
    }
}

/// Digitises an original under its document type's policy, adding the OCR text layer when
/// the policy asks for it (slow: seconds per page; runs on a blocking thread).
fn digitize_original(
    files: &[UploadedFile],
    options: &DigitizeOptions,
    policy: &DocumentPolicy,
) -> Result<digitize::Digitized> {
    let mut digitized = digitize::digitize_with(files, options, policy, &DecodeLimits::default())?;
    if policy.ocr {
        digitize::ocr::recognize_pages(
            &mut digitized,
            &digitize::ocr::Tesseract::default(),
            |_, _| {},
        )
        .map_err(|e| Error::Internal(format!("OCR failed: {e}")))?;
    }
    Ok(digitized)
}

pub(super) fn fingerprint(der: &[u8], printed: &crate::config::SignerConfig) -> SignerFingerprint {
    let (subject, issuer, serial) = match x509_parser::parse_x509_certificate(der) {
        Ok((_, c)) => (
            c.subject().to_string(),
            c.issuer().to_string(),
            hex::encode(c.raw_serial()),
        ),
        Err(_) => Default::default(),
    };
    SignerFingerprint {
        subject,
        issuer,
        serial,
        sha256: sha256_hex(der),
        name: printed.name.clone(),
        title: printed.title.clone(),
    }
}

/// The certification reference of a reserved number (see [`certification_reference`]).
fn reservation_reference(r: &records::Reservation, book_code: &str) -> String {
    certification_reference(r.number, &r.book, r.year, book_code)
}
