//! The use cases, free of any transport: certify an original, verify a PDF, read a copy
//! back (re-verified). `service` wraps these in gRPC; the CLI calls them directly.

use std::sync::Arc;

use bytes::Bytes;
use time::{OffsetDateTime, UtcOffset};

use crate::config::{Config, SignerConfig};
use crate::digitize::{self, DigitizeOptions, UploadedFile};
use crate::error::{Error, Result};
use crate::digitize::policy::PolicyBook;
use crate::digitize::{DecodeLimits, DocumentPolicy};
use crate::pdf::assemble::{self, ArchiveFacts, CopyContent};
use crate::pki::key::Credential;
use crate::pki::trust;
use crate::records::{self, OriginalFile, Record, RecordStatus, Registry, SignerFingerprint};
use crate::sign::{SignRequest, sign_pdf};
use crate::store::{ConditionalWrites, ObjectStore, StoreError, probe_conditional_writes};
use crate::verify::{Indication, Report, SubIndication, ValidationPolicy, verify_pdf};

/// Vietnam's UTC offset, used for every time saoy prints or signs.
pub const VIETNAM_OFFSET: UtcOffset = match UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// The source of "now", behind a trait so tests can fix it.
pub trait Clock: Send + Sync {
    /// The current time.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

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
}

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

/// Who is calling, as the transport established it (today: the `x-saoy-caller` request
/// metadata, unauthenticated). Access rules are decided in [`App::authorize`] alone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Caller {
    /// The caller's stated identity; `None` when it gave none.
    pub id: Option<String>,
}

impl Caller {
    /// A caller that gave no identity.
    pub fn anonymous() -> Self {
        Self::default()
    }

    /// A caller known as `id`.
    pub fn named(id: impl Into<String>) -> Self {
        Self {
            id: Some(id.into()),
        }
    }

    /// The identity for logs and records, `anonymous` when none.
    pub fn label(&self) -> &str {
        self.id.as_deref().unwrap_or("anonymous")
    }
}

/// What a caller asks to do, as seen by [`App::authorize`].
#[derive(Clone, Copy, Debug)]
pub enum Action<'a> {
    /// Read a copy and its record.
    ReadCopy(&'a str),
    /// List an owner's records.
    ListRecords(&'a str),
    /// Find an owner's reusable results.
    FindReusable(&'a str),
    /// Ask whether a file is a copy issued here.
    LookupByHash,
    /// Revoke a copy.
    RevokeCopy(&'a str),
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

/// A signer as configured: credential plus printed name and title.
#[derive(Clone, Debug)]
struct Signer {
    credential: Credential,
    config: SignerConfig,
}

/// The application: configuration, credentials, store and trust.
pub struct App {
    config: Config,
    agency: Signer,
    certifier: Option<Signer>,
    registry: Registry,
    policy: ValidationPolicy,
    /// Scan rules per document type (resolution, colour, blank pages, OCR).
    policies: PolicyBook,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("agency", &self.config.agency.code)
            .finish_non_exhaustive()
    }
}

fn load_signer(config: &SignerConfig) -> Result<Signer> {
    Ok(Signer {
        credential: Credential::load(&config.key_file, &config.chain_file)?,
        config: config.clone(),
    })
}

/// Opens the object store the configuration names, without probing it.
pub async fn open_store(config: &Config) -> Result<Arc<dyn ObjectStore>> {
    let location = config.store.location(&config.data_dir)?;
    Ok(crate::store::open(&location, &config.store.s3_options()).await?)
}

/// Builds the validation policy (anchors + CRLs) from the configured files.
pub fn load_policy(config: &Config) -> Result<ValidationPolicy> {
    let mut anchors = Vec::new();
    for path in &config.trust.anchors {
        anchors.extend(
            trust::load_certificates(path).map_err(|e| Error::InvalidArgument(e.to_string()))?,
        );
    }
    let mut crls = Vec::new();
    for path in &config.trust.crls {
        crls.extend(trust::load_crls(path).map_err(|e| Error::InvalidArgument(e.to_string()))?);
    }
    Ok(ValidationPolicy::new(anchors, crls, None))
}

impl App {
    /// Opens the app on the store the configuration names (`store.url`, else the local
    /// `data_dir`), after checking that the store keeps create-only writes exclusive.
    pub async fn open(config: Config) -> Result<Self> {
        let store = open_store(&config).await?;
        Self::open_on(config, store).await
    }

    /// Opens the app on `store`: refuses a store that ignores conditional writes unless
    /// `store.single_replica` is set (the certification book relies on them).
    pub async fn open_on(config: Config, store: Arc<dyn ObjectStore>) -> Result<Self> {
        match probe_conditional_writes(store.as_ref()).await? {
            ConditionalWrites::Honoured => {}
            ConditionalWrites::Ignored(behaviour) if config.store.single_replica => {
                tracing::warn!(
                    store = %store.describe(),
                    %behaviour,
                    "the store does not honour conditional writes; running anyway because \
                     store.single_replica = true: never start a second saoy on this store"
                );
            }
            ConditionalWrites::Ignored(behaviour) => {
                return Err(StoreError::ConditionalWritesIgnored {
                    store: store.describe(),
                    behaviour,
                }
                .into());
            }
        }
        Self::with_store(config, store, Arc::new(SystemClock))
    }

    /// Opens the app on a given store and clock.
    pub fn with_store(
        config: Config,
        store: Arc<dyn ObjectStore>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let agency = load_signer(&config.signers.agency)?;
        let certifier = config
            .signers
            .certifier
            .as_ref()
            .map(load_signer)
            .transpose()?;
        let policy = load_policy(&config)?;
        Ok(Self {
            registry: Registry::new(store),
            agency,
            certifier,
            policy,
            policies: PolicyBook::builtin(),
            clock,
            config,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The object store in use, described for logs.
    pub fn store_description(&self) -> String {
        self.registry.describe_store()
    }

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
    pub async fn certify(self: &Arc<Self>, input: CertifyInput) -> Result<Certified> {
        self.check_metadata(&input.meta)?;
        let meta = &input.meta;
        if input.files.is_empty() {
            return Err(Error::InvalidArgument(
                "no file received: send the scans or PDF of the original after the request".into(),
            ));
        }
        let agency_code = self.config.agency.code.clone();
        let guard = self
            .registry
            .begin_request(&agency_code, &meta.client_request_id)
            .await?;
        if let Some(existing) = guard.existing.clone() {
            if existing.owner_id != meta.owner_id || existing.procedure_code != meta.procedure_code
            {
                return Err(Error::Conflict(format!(
                    "client_request_id {:?} was already used for another request (copy {}); use a new id",
                    meta.client_request_id, existing.id
                )));
            }
            return Ok(Certified {
                record: existing,
                replayed: true,
                warnings: Vec::new(),
            });
        }

        let options = DigitizeOptions {
            min_dpi: self.config.limits.min_dpi,
            allow_low_resolution: meta.allow_low_resolution,
            max_pixels_per_page: self.config.limits.max_pixels_per_page,
            max_pages: self.config.limits.max_pages,
        };
        let files = Arc::new(input.files);
        let scan_policy = self.policies.lookup(&meta.document_type).clone();
        let digitized = {
            let files = Arc::clone(&files);
            tokio::task::spawn_blocking(move || digitize_original(&files, &options, &scan_policy))
                .await
                .map_err(|e| Error::Internal(format!("digitize task: {e}")))??
        };
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

        let now = self.clock.now().to_offset(VIETNAM_OFFSET);
        let reservation = self
            .registry
            .reserve_number(&agency_code, now.year())
            .await?;
        let id = uuid::Uuid::now_v7().to_string();
        let this = Arc::clone(self);
        let reference_number = reservation.number;
        let book = reservation.book.clone();
        let copy_id = id.clone();
        let facts = ArchiveFacts {
            facts: vec![
                ("Loại giấy tờ".into(), meta.document_type.clone()),
                ("Tên giấy tờ".into(), meta.document_name.clone()),
                ("Mã TTHC".into(), meta.procedure_code.clone()),
                (
                    "Số chứng thực".into(),
                    format!(
                        "{reference_number}, quyển số {book}/{}-{}",
                        now.year(),
                        self.config.agency.book_code
                    ),
                ),
                ("Mã bản sao".into(), id.clone()),
            ],
        };
        let built = tokio::task::spawn_blocking(move || {
            this.build_and_sign(&digitized, &facts, &copy_id, reference_number, &book, now)
        })
        .await
        .map_err(|e| Error::Internal(format!("signing task: {e}")));
        let pdf = match built {
            Ok(Ok(v)) => v,
            Ok(Err(e)) | Err(e) => {
                self.void_number(&reservation, &format!("copy could not be produced: {e}"))
                    .await;
                return Err(e);
            }
        };

        let record = self.make_record(meta, &id, &reservation, now, &pdf, &files);
        let originals: Vec<Bytes> = files.iter().map(|f| f.data.clone()).collect();
        if let Err(e) = self
            .registry
            .commit(&reservation, &record, Bytes::from(pdf), originals)
            .await
        {
            self.void_number(&reservation, &format!("copy could not be stored: {e}"))
                .await;
            return Err(e.into());
        }
        drop(guard);
        tracing::info!(id = %record.id, number = record.number, "certified copy issued");
        Ok(Certified {
            record,
            replayed: false,
            warnings,
        })
    }
}

impl App {
    /// Enters a reserved number as void with `reason`, so the book keeps no gap. A failure
    /// to do so is logged: the entry then stays "reserved" for `store check` to settle.
    async fn void_number(&self, reservation: &records::Reservation, reason: &str) {
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
    fn build_and_sign(
        &self,
        digitized: &digitize::Digitized,
        facts: &ArchiveFacts,
        copy_id: &str,
        number: u64,
        book: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<u8>> {
        let agency = &self.config.agency;
        let certifier = self.certifier.as_ref().map(|c| &c.config);
        let content = CopyContent {
            copy_id: copy_id.to_string(),
            qr_payload: copy_id.to_string(),
            statement: agency.statement.clone(),
            reference: format!(
                "Số chứng thực: {number}, quyển số {book}/{}-{}",
                now.year(),
                agency.book_code
            ),
            date_line: vietnamese_date(now),
            certifier_title: certifier.map(|c| c.title.clone()).unwrap_or_default(),
            certifier_name: certifier.map(|c| c.name.clone()).unwrap_or_default(),
            agency: agency.name.clone(),
            stamp_lines: vec![agency.copy_type.clone(), agency.name.clone(), rfc3339(now)],
            title: format!("Bản sao chứng thực {copy_id}"),
            pdfa: true,
        };
        let assembled = assemble::assemble_with(digitized, &content, facts)?;
        let mut pdf = sign_pdf(
            &assembled.pdf,
            &SignRequest {
                credential: &self.agency.credential,
                field_name: "Signature_Agency".into(),
                page_index: assembled.stamp_area.page_index,
                rect: assembled.stamp_area.rect,
                signing_time: now,
                signer_name: Some(agency.name.clone()),
                reason: Some(agency.copy_type.clone()),
                location: Some(agency.location.clone()),
            },
        )?;
        if let Some(certifier) = &self.certifier {
            pdf = sign_pdf(
                &pdf,
                &SignRequest {
                    credential: &certifier.credential,
                    field_name: "Signature_Certifier".into(),
                    page_index: assembled.certification_area.page_index,
                    rect: assembled.certification_area.rect,
                    signing_time: now,
                    signer_name: Some(certifier.config.name.clone()),
                    reason: Some(agency.statement.clone()),
                    location: Some(agency.location.clone()),
                },
            )?;
        }
        // Never store what does not verify.
        let report = verify_pdf(&pdf, &self.policy);
        if !report.is_passed() {
            return Err(Error::Internal(format!(
                "the freshly signed copy does not verify: {}",
                report.render_text()
            )));
        }
        Ok(pdf)
    }

    /// The record of a copy; `page_count` is the original's (the copy adds one page).
    fn make_record(
        &self,
        meta: &CertifyMeta,
        id: &str,
        reservation: &records::Reservation,
        now: OffsetDateTime,
        pdf: &[u8],
        files: &[UploadedFile],
    ) -> Record {
        let agency = &self.config.agency;
        let mut signers = vec![fingerprint(&self.agency.credential)];
        if let Some(c) = &self.certifier {
            signers.push(fingerprint(&c.credential));
        }
        Record {
            schema_version: 1,
            id: id.to_string(),
            agency_code: agency.code.clone(),
            agency_name: agency.name.clone(),
            number: reservation.number,
            book: reservation.book.clone(),
            year: reservation.year,
            book_code: agency.book_code.clone(),
            reference: format!(
                "{}, quyển số {}/{}-{}",
                reservation.number, reservation.book, reservation.year, agency.book_code
            ),
            owner_id: meta.owner_id.clone(),
            document_type: meta.document_type.clone(),
            document_name: meta.document_name.clone(),
            procedure_code: meta.procedure_code.clone(),
            client_request_id: meta.client_request_id.clone(),
            issued_at: rfc3339(now),
            valid_until: None,
            status: RecordStatus::Valid,
            page_count: meta.page_count,
            copy_sha256: sha256_hex(pdf),
            copy_size: pdf.len() as u64,
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
        }
    }

    /// Verifies any PDF against the configured trust anchors and CRLs.
    pub fn verify_bytes(&self, pdf: &[u8]) -> Report {
        verify_pdf(pdf, &self.policy)
    }

    /// The single place where access rules are decided. None are enforced yet (a later
    /// issue); every decision is logged with the caller.
    pub fn authorize(&self, caller: &Caller, action: Action<'_>) -> Result<()> {
        tracing::debug!(
            caller = caller.label(),
            ?action,
            "access granted (no rules yet)"
        );
        Ok(())
    }

    /// Verifies uploaded bytes, then looks them up among the copies issued here: a copy
    /// that was revoked is FAILED with the revocation named, however good its signatures.
    pub async fn verify_upload(self: &Arc<Self>, caller: &Caller, pdf: Vec<u8>) -> Result<Report> {
        self.authorize(caller, Action::LookupByHash)?;
        let sha256 = sha256_hex(&pdf);
        let this = Arc::clone(self);
        let mut report = tokio::task::spawn_blocking(move || this.verify_bytes(&pdf))
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

    /// [`App::get_copy`] for a caller.
    pub async fn read_copy(self: &Arc<Self>, caller: &Caller, id: &str) -> Result<RetrievedCopy> {
        self.authorize(caller, Action::ReadCopy(id))?;
        self.get_copy(id).await
    }

    /// One page of an owner's records in issue order.
    pub async fn list_records(
        &self,
        caller: &Caller,
        owner_id: &str,
        page_size: u32,
        page_token: &str,
    ) -> Result<records::RecordPage> {
        self.authorize(caller, Action::ListRecords(owner_id))?;
        let size = match page_size {
            0 => DEFAULT_PAGE,
            n => n.min(MAX_PAGE),
        };
        Ok(self
            .registry
            .records_page(owner_id, size as usize, page_token)
            .await?)
    }

    /// The owner's valid, unexpired copies of `document_type`, oldest first.
    pub async fn find_reusable(
        &self,
        caller: &Caller,
        owner_id: &str,
        document_type: &str,
    ) -> Result<Vec<Record>> {
        self.authorize(caller, Action::FindReusable(owner_id))?;
        let wanted = document_type.trim();
        if wanted.is_empty() {
            return Err(Error::InvalidArgument(
                "document_type is empty: say which kind of document is wanted".into(),
            ));
        }
        let now = self.clock.now();
        Ok(self
            .registry
            .records_of_owner(owner_id)
            .await?
            .into_iter()
            .filter(|r| r.document_type == wanted && records::is_current(r, now))
            .collect())
    }

    /// Whether the file with this SHA-256 is a copy issued here, and still valid.
    pub async fn lookup_by_hash(&self, caller: &Caller, sha256: &str) -> Result<HashLookup> {
        self.authorize(caller, Action::LookupByHash)?;
        let Some(record) = self.registry.find_by_hash(sha256).await? else {
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
        let reason = match &record.status {
            RecordStatus::Revoked { reason, by, at } => {
                format!("revoked at {at} by {by}: {reason}")
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

    /// Revokes copy `id`; `by` defaults to the caller's identity. Revoking twice keeps the
    /// first revocation.
    pub async fn revoke_copy(
        &self,
        caller: &Caller,
        id: &str,
        reason: &str,
        by: &str,
    ) -> Result<Record> {
        self.authorize(caller, Action::RevokeCopy(id))?;
        let by = match (by.trim(), &caller.id) {
            ("", Some(id)) => id.as_str(),
            (by, _) => by,
        };
        let at = rfc3339(self.clock.now().to_offset(VIETNAM_OFFSET));
        let record = self
            .registry
            .revoke(id, reason, by, &at)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no certified copy with id {id:?}")))?;
        tracing::info!(id, caller = caller.label(), "certified copy revoked");
        Ok(record)
    }

    /// Reads a stored copy and re-verifies it; a copy whose bytes no longer match the
    /// recorded hash is reported as such and its report is never PASSED.
    pub async fn get_copy(self: &Arc<Self>, id: &str) -> Result<RetrievedCopy> {
        let record = self
            .registry
            .get(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("no certified copy with id {id:?}")))?;
        let bytes = self.registry.copy_bytes(id).await?.ok_or_else(|| {
            Error::Internal(format!("record {id} exists but its copy bytes are missing"))
        })?;
        let hash_matches = sha256_hex(&bytes) == record.copy_sha256;
        let this = Arc::clone(self);
        let checked = bytes.clone();
        let mut report = tokio::task::spawn_blocking(move || this.verify_bytes(&checked))
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
    if let RecordStatus::Revoked { reason, by, at } = &record.status {
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

/// Digitises an original under its document type's policy, adding the OCR text layer when
/// the policy asks for it (slow: seconds per page; runs on a blocking thread).
fn digitize_original(
    files: &[UploadedFile],
    options: &DigitizeOptions,
    policy: &DocumentPolicy,
) -> Result<digitize::Digitized> {
    let mut digitized =
        digitize::digitize_with(files, options, policy, &DecodeLimits::default())?;
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

/// Lowers a report to FAILED for a reason outside the PDF (record state, stored hash).
fn mark_failed(report: &mut Report, sub: SubIndication, message: String) {
    report.status = Indication::Failed;
    report.sub_indication = Some(sub);
    report.messages.push(message);
}

fn fingerprint(credential: &Credential) -> SignerFingerprint {
    let der = credential.certificate();
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
    }
}

/// Hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// RFC 3339 / ISO 8601 with the offset, e.g. `2026-11-24T09:15:30+07:00`.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// "Ngày 24 tháng 11 năm 2026".
pub fn vietnamese_date(t: OffsetDateTime) -> String {
    format!(
        "Ngày {:02} tháng {:02} năm {}",
        t.day(),
        u8::from(t.month()),
        t.year()
    )
}
