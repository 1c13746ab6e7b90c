//! Back-office digitisation: scans in, a searchable PDF/A out. The scans are checked while
//! the caller waits; OCR and assembly run as a job on [`super::jobs`], polled by id and
//! fetched once done. The queue's sizes are the named constants below.

use std::sync::OnceLock;
use std::time::Duration;

use super::jobs::{JobId, JobState, Jobs};
use super::*;
use crate::digitize::ocr::{self, Tesseract};
use crate::pdf::{ScanContent, assemble_scan};

/// How long a finished job's PDF is kept for fetching.
pub const KEEP_RESULTS: Duration = Duration::from_secs(3600);
/// Jobs that may wait for the OCR worker.
pub const MAX_QUEUED: usize = 16;
/// OCR workers (Tesseract is CPU-bound: one keeps the signing path responsive).
pub const OCR_WORKERS: usize = 1;

/// What the caller asks to digitise.
#[derive(Debug, Clone, Default)]
pub struct DigitizeJobRequest {
    /// Kind of document: selects the policy (dpi, colour, OCR).
    pub document_type: String,
    /// Title of the PDF; the document type when empty.
    pub title: String,
    /// Add a text layer even if the policy does not ask for it.
    pub ocr: bool,
    /// Accept scans under the minimum resolution.
    pub allow_low_resolution: bool,
    /// The scans, in page order.
    pub files: Vec<UploadedFile>,
}

/// A finished digitisation.
#[derive(Debug)]
pub struct DigitizedPdf {
    /// The PDF.
    pub pdf: Bytes,
    /// True when it was written as PDF/A-2b.
    pub pdfa: bool,
}

/// A digitisation job as the caller sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitizeJob {
    /// Its id.
    pub id: JobId,
    /// Where it is.
    pub state: JobState,
    /// Pages done.
    pub pages_done: u64,
    /// Pages in all.
    pub pages_total: u64,
    /// Size of the finished PDF (0 until done).
    pub pdf_size: u64,
    /// True when the finished PDF is PDF/A.
    pub pdfa: bool,
    /// Things the clerk should check (only in the answer that starts the job).
    pub warnings: Vec<String>,
}

/// The job runner and the OCR engine, started on first use.
#[derive(Default)]
pub(super) struct Digitization {
    jobs: OnceLock<Jobs<DigitizedPdf>>,
    engine: Tesseract,
}

impl Digitization {
    fn jobs(&self) -> &Jobs<DigitizedPdf> {
        self.jobs
            .get_or_init(|| Jobs::new(OCR_WORKERS, MAX_QUEUED, KEEP_RESULTS))
    }
}

impl App {
    /// Checks the scans now (refusing them as Certify would), then queues OCR and assembly;
    /// returns the job, with the warnings of the check.
    pub async fn start_digitization(
        &self,
        caller: &Caller,
        request: DigitizeJobRequest,
    ) -> Result<DigitizeJob> {
        let agency = self.caller_agency(caller, Action::Digitize)?;
        let limits = &self.config.limits;
        let policy = self.policies.lookup(&request.document_type).clone();
        let with_ocr = policy.ocr || request.ocr;
        let opts = DigitizeOptions {
            min_dpi: limits.min_dpi,
            allow_low_resolution: request.allow_low_resolution,
            max_pixels_per_page: limits.max_pixels_per_page,
            max_pages: limits.max_pages,
        };
        let files = request.files;
        let checked = tokio::task::spawn_blocking(move || {
            digitize::digitize_with(&files, &opts, &policy, &DecodeLimits::default())
        })
        .await
        .map_err(|e| Error::Internal(format!("digitize task: {e}")))??;
        let warnings = checked.warnings.iter().map(|w| w.message.clone()).collect();
        let content = ScanContent {
            id: uuid::Uuid::now_v7().to_string(),
            title: if request.title.is_empty() {
                request.document_type.clone()
            } else {
                request.title
            },
            agency: agency.config.name.clone(),
            facts: vec![("Loại giấy tờ".into(), request.document_type)],
            pdfa: true,
            created: self.clock.now_vietnam(),
        };
        let engine = self.digitization.engine.clone();
        let total = checked.pages.len() as u64;
        let id = self
            .digitization
            .jobs()
            .submit_sized(total, move |progress| {
                let mut d = checked;
                let pages = d.pages.len() as u64;
                progress.set(0, pages);
                if with_ocr {
                    ocr::recognize_pages(&mut d, &engine, |done, total| {
                        progress.set(done as u64, total as u64);
                    })
                    .map_err(|e| e.to_string())?;
                }
                let built = assemble_scan(&d, &content).map_err(|e| {
                    tracing::error!(error = %e, "digitised PDF could not be built");
                    "the PDF could not be built; the incident was logged".to_string()
                })?;
                progress.set(pages, pages);
                Ok(DigitizedPdf {
                    pdf: Bytes::from(built.pdf),
                    pdfa: built.pdfa,
                })
            })?;
        let mut job = self.job_status(&id)?;
        job.warnings = warnings;
        Ok(job)
    }

    /// Where a digitisation job is.
    pub fn digitization_job(&self, caller: &Caller, id: &JobId) -> Result<DigitizeJob> {
        self.admit_own_agency(caller, Action::Digitize)?;
        self.job_status(id)
    }

    /// The PDF of a finished job; NOT_READY until it is done.
    pub fn digitized_pdf(&self, caller: &Caller, id: &JobId) -> Result<Bytes> {
        self.admit_own_agency(caller, Action::Digitize)?;
        let job = self.job_status(id)?;
        if job.state != JobState::Done {
            return Err(Error::NotReady(format!(
                "job {id} is not done yet: poll GetDigitizationJob until DONE"
            )));
        }
        self.digitization
            .jobs()
            .with_result(id, |o| o.pdf.clone())
            .ok_or_else(|| Error::NotFound(format!("no PDF for job {id}")))
    }

    fn job_status(&self, id: &JobId) -> Result<DigitizeJob> {
        let jobs = self.digitization.jobs();
        let s = jobs
            .status(id)
            .ok_or_else(|| Error::NotFound(format!("no digitisation job {id}")))?;
        let (pdf_size, pdfa) = jobs
            .with_result(id, |o| (o.pdf.len() as u64, o.pdfa))
            .unwrap_or_default();
        Ok(DigitizeJob {
            id: id.clone(),
            state: s.state,
            pages_done: s.done,
            pages_total: s.total,
            pdf_size,
            pdfa,
            warnings: Vec::new(),
        })
    }
}
