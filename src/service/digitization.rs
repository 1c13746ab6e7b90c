//! `DigitizationService`: scans in, a searchable PDF/A out. The scans are checked while
//! the caller waits; OCR and assembly run as a job on the library's job runner, polled
//! with `GetDigitizationJob` and fetched with `GetDigitizedPdf`.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::CHUNK_SIZE;
use super::status::{invalid, to_status, too_large};
use crate::app::App;
use crate::digitize::ocr::{self, JobId, JobState, Jobs, Tesseract};
use crate::digitize::{self, DecodeLimits, DigitizeOptions, PolicyBook, UploadedFile};
use crate::error::Error;
use crate::pdf::{ScanContent, assemble_scan};
use crate::proto::digitization_job::State;
use crate::proto::digitization_service_server::DigitizationService;
use crate::proto::{
    DigitizationJob, DigitizationJobRequest, DigitizeRequest, DigitizedPdfChunk,
    digitize_request::Part,
};

/// How long a finished job's PDF is kept for `GetDigitizedPdf`.
const KEEP_RESULTS: Duration = Duration::from_secs(3600);
/// Jobs that may wait for the OCR worker.
const MAX_QUEUED: usize = 16;

/// A finished digitisation.
struct Outcome {
    pdf: Bytes,
    pdfa: bool,
}

/// The DigitizationService RPCs.
#[derive(Clone)]
pub struct DigitizationApi {
    app: Arc<App>,
    policies: Arc<PolicyBook>,
    jobs: Arc<Jobs<Outcome>>,
    engine: Tesseract,
}

impl std::fmt::Debug for DigitizationApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigitizationApi").finish_non_exhaustive()
    }
}

impl DigitizationApi {
    /// One OCR worker (Tesseract is CPU-bound), the built-in policy book.
    pub fn new(app: Arc<App>) -> Self {
        Self {
            app,
            policies: Arc::new(PolicyBook::builtin()),
            jobs: Arc::new(Jobs::new(1, MAX_QUEUED, KEEP_RESULTS)),
            engine: Tesseract::default(),
        }
    }

    fn status(&self, id: &JobId) -> Result<DigitizationJob, Status> {
        let s = self
            .jobs
            .status(id)
            .ok_or_else(|| to_status(Error::NotFound(format!("no digitisation job {id}"))))?;
        let (pdf_size, pdfa) = self
            .jobs
            .with_result(id, |o| (o.pdf.len() as u64, o.pdfa))
            .unwrap_or_default();
        let (state, error) = match s.state {
            JobState::Queued => (State::Queued, String::new()),
            JobState::Running => (State::Running, String::new()),
            JobState::Done => (State::Done, String::new()),
            JobState::Failed(e) => (State::Failed, e),
        };
        Ok(DigitizationJob {
            job_id: id.0.clone(),
            state: state as i32,
            pages_done: u32::try_from(s.done).unwrap_or(u32::MAX),
            pages_total: u32::try_from(s.total).unwrap_or(u32::MAX),
            error,
            warnings: Vec::new(),
            pdf_size,
            pdfa,
        })
    }
}

/// Receives the files after the options, enforcing the size limits as chunks arrive.
async fn receive_files(
    stream: &mut Streaming<DigitizeRequest>,
    limits: &crate::config::Limits,
) -> Result<Vec<UploadedFile>, Status> {
    let mut files: Vec<(String, Option<String>, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    while let Some(message) = stream.next().await {
        match message?.part {
            Some(Part::File(h)) => {
                if files.len() as u64 >= u64::from(limits.max_files) {
                    return Err(too_large(format!(
                        "more than {} files in one request: split the original",
                        limits.max_files
                    )));
                }
                let media = Some(h.media_type).filter(|m| !m.is_empty());
                files.push((h.name.chars().take(255).collect(), media, Vec::new()));
            }
            Some(Part::Chunk(chunk)) => {
                let (name, _, data) = files
                    .last_mut()
                    .ok_or_else(|| invalid("a chunk arrived before any file header"))?;
                total += chunk.len() as u64;
                if (data.len() + chunk.len()) as u64 > limits.max_file_bytes {
                    return Err(too_large(format!(
                        "file {name:?} is larger than the limit of {} bytes",
                        limits.max_file_bytes
                    )));
                }
                if total > limits.max_upload_bytes {
                    return Err(too_large(format!(
                        "the upload is larger than the limit of {} bytes",
                        limits.max_upload_bytes
                    )));
                }
                data.extend_from_slice(&chunk);
            }
            Some(Part::Options(_)) => return Err(invalid("options may be sent only once, first")),
            None => return Err(invalid("empty message in the stream")),
        }
    }
    Ok(files
        .into_iter()
        .map(|(name, media_type, data)| UploadedFile {
            name,
            media_type,
            data: Bytes::from(data),
        })
        .collect())
}

type PdfStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<DigitizedPdfChunk, Status>> + Send>>;

#[tonic::async_trait]
impl DigitizationService for DigitizationApi {
    async fn start_digitization(
        &self,
        request: Request<Streaming<DigitizeRequest>>,
    ) -> Result<Response<DigitizationJob>, Status> {
        let mut stream = request.into_inner();
        let first = stream
            .next()
            .await
            .ok_or_else(|| invalid("empty stream: send the options first"))??;
        let Some(Part::Options(options)) = first.part else {
            return Err(invalid("the first message must be `options`"));
        };
        let config = self.app.config();
        let files = receive_files(&mut stream, &config.limits).await?;
        let policy = self.policies.lookup(&options.document_type).clone();
        let with_ocr = policy.ocr || options.ocr;
        let opts = DigitizeOptions {
            min_dpi: config.limits.min_dpi,
            allow_low_resolution: options.allow_low_resolution,
            max_pixels_per_page: config.limits.max_pixels_per_page,
            max_pages: config.limits.max_pages,
        };
        let checked = tokio::task::spawn_blocking(move || {
            digitize::digitize_with(&files, &opts, &policy, &DecodeLimits::default())
        })
        .await
        .map_err(|e| to_status(Error::Internal(format!("digitize task: {e}"))))?
        .map_err(|e| to_status(Error::Digitize(e)))?;
        let warnings = checked.warnings.iter().map(|w| w.message.clone()).collect();
        let content = ScanContent {
            id: uuid::Uuid::now_v7().to_string(),
            title: if options.title.is_empty() {
                options.document_type.clone()
            } else {
                options.title
            },
            agency: config.agency.name.clone(),
            facts: vec![("Loại giấy tờ".into(), options.document_type)],
            pdfa: true,
        };
        let engine = self.engine.clone();
        let total = checked.pages.len() as u64;
        let id = self
            .jobs
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
                Ok(Outcome {
                    pdf: Bytes::from(built.pdf),
                    pdfa: built.pdfa,
                })
            })
            .map_err(|e| to_status(e.into()))?;
        let mut job = self.status(&id)?;
        job.warnings = warnings;
        Ok(Response::new(job))
    }

    async fn get_digitization_job(
        &self,
        request: Request<DigitizationJobRequest>,
    ) -> Result<Response<DigitizationJob>, Status> {
        let id = JobId(request.into_inner().job_id);
        Ok(Response::new(self.status(&id)?))
    }

    type GetDigitizedPdfStream = PdfStream;

    async fn get_digitized_pdf(
        &self,
        request: Request<DigitizationJobRequest>,
    ) -> Result<Response<Self::GetDigitizedPdfStream>, Status> {
        let id = JobId(request.into_inner().job_id);
        let job = self.status(&id)?;
        if job.state != State::Done as i32 {
            return Err(to_status(Error::NotReady(format!(
                "job {id} is not done yet: poll GetDigitizationJob until DONE"
            ))));
        }
        let pdf = self
            .jobs
            .with_result(&id, |o| o.pdf.clone())
            .ok_or_else(|| to_status(Error::NotFound(format!("no PDF for job {id}"))))?;
        let chunks: Vec<Result<DigitizedPdfChunk, Status>> = (0..pdf.len())
            .step_by(CHUNK_SIZE)
            .map(|start| {
                Ok(DigitizedPdfChunk {
                    data: pdf
                        .slice(start..(start + CHUNK_SIZE).min(pdf.len()))
                        .to_vec(),
                })
            })
            .collect();
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks))))
    }
}
