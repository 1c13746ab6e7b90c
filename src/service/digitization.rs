//! `DigitizationService`: scans in, a searchable PDF/A out; the use case is
//! [`App::start_digitization`] and its job queries.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::CHUNK_SIZE;
use super::caller::Door;
use super::status::to_status;
use super::upload::{Piece, first_message, receive_files};
use crate::app::jobs::{JobId, JobState};
use crate::app::{Action, App, DigitizeJob, DigitizeJobRequest};
use crate::error::Error;
use crate::proto::digitization_job::State;
use crate::proto::digitization_service_server::DigitizationService;
use crate::proto::{
    DigitizationJob, DigitizationJobRequest, DigitizeRequest, DigitizedPdfChunk,
    digitize_request::Part,
};

/// The DigitizationService RPCs.
#[derive(Debug, Clone)]
pub struct DigitizationApi {
    door: Door,
}

impl DigitizationApi {
    /// Serves `app` through `door`'s limits.
    pub fn new(door: Door) -> Self {
        Self { door }
    }

    fn app(&self) -> &Arc<App> {
        &self.door.app
    }
}

fn job_message(job: DigitizeJob) -> DigitizationJob {
    let (state, error) = match job.state {
        JobState::Queued => (State::Queued, String::new()),
        JobState::Running => (State::Running, String::new()),
        JobState::Done => (State::Done, String::new()),
        JobState::Failed(e) => (State::Failed, e),
    };
    DigitizationJob {
        job_id: job.id.0,
        state: state as i32,
        pages_done: u32::try_from(job.pages_done).unwrap_or(u32::MAX),
        pages_total: u32::try_from(job.pages_total).unwrap_or(u32::MAX),
        error,
        warnings: job.warnings,
        pdf_size: job.pdf_size,
        pdfa: job.pdfa,
    }
}

type PdfStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<DigitizedPdfChunk, Status>> + Send>>;

#[tonic::async_trait]
impl DigitizationService for DigitizationApi {
    async fn start_digitization(
        &self,
        request: Request<Streaming<DigitizeRequest>>,
    ) -> Result<Response<DigitizationJob>, Status> {
        let action = Action::Digitize;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let allowed = self.app().admit_own_agency(&caller, action);
        self.door.answer(&caller, action, allowed).await?;
        let mut stream = request.into_inner();
        let gate = &self.door.gate;
        let first = first_message(&mut stream, gate, "the options").await?;
        let Some(Part::Options(options)) = first.part else {
            return Err(to_status(Error::InvalidArgument(
                "the first message must be `options`".into(),
            )));
        };
        let mut hold = gate.memory_hold();
        let limits = &self.app().config().limits;
        let files = receive_files(&mut stream, limits, gate, &mut hold, |m| match m.part {
            Some(Part::File(h)) => Piece::File(h),
            Some(Part::Chunk(c)) => Piece::Chunk(c),
            Some(Part::Options(_)) => Piece::Repeated("options"),
            None => Piece::Empty,
        })
        .await?;
        let job = self
            .app()
            .start_digitization(
                &caller,
                DigitizeJobRequest {
                    document_type: options.document_type,
                    title: options.title,
                    ocr: options.ocr,
                    allow_low_resolution: options.allow_low_resolution,
                    files,
                },
            )
            .await;
        let job = self.door.answer(&caller, action, job).await?;
        Ok(Response::new(job_message(job)))
    }

    async fn get_digitization_job(
        &self,
        request: Request<DigitizationJobRequest>,
    ) -> Result<Response<DigitizationJob>, Status> {
        let (caller, _permit) = self.door.enter(&request, Action::Digitize).await?;
        let id = JobId(request.into_inner().job_id);
        let job = self.app().digitization_job(&caller, &id);
        let job = self.door.answer(&caller, Action::Digitize, job).await?;
        Ok(Response::new(job_message(job)))
    }

    type GetDigitizedPdfStream = PdfStream;

    async fn get_digitized_pdf(
        &self,
        request: Request<DigitizationJobRequest>,
    ) -> Result<Response<Self::GetDigitizedPdfStream>, Status> {
        let (caller, _permit) = self.door.enter(&request, Action::Digitize).await?;
        let id = JobId(request.into_inner().job_id);
        let pdf = self.app().digitized_pdf(&caller, &id);
        let pdf = self.door.answer(&caller, Action::Digitize, pdf).await?;
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
