//! `VerificationService`: verifies an uploaded PDF or a stored copy.

use std::sync::Arc;

use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::caller::caller_of;
use super::convert;
use super::status::to_status;
use crate::app::App;
use crate::error::Error;
use crate::proto::verification_service_server::VerificationService;
use crate::proto::{VerificationReport, VerifyRequest, verify_request::Source};

/// The Verify RPC.
#[derive(Debug, Clone)]
pub struct VerificationApi {
    app: Arc<App>,
}

impl VerificationApi {
    /// Wraps the app.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

#[tonic::async_trait]
impl VerificationService for VerificationApi {
    async fn verify(
        &self,
        request: Request<Streaming<VerifyRequest>>,
    ) -> Result<Response<VerificationReport>, Status> {
        let caller = caller_of(&request);
        let mut stream = request.into_inner();
        let limit = self.app.config().limits.max_verify_bytes;
        let mut pdf: Vec<u8> = Vec::new();
        let mut first = true;
        while let Some(message) = stream.next().await {
            match message?.source {
                Some(Source::CopyId(id)) if first => {
                    if stream.next().await.is_some() {
                        return Err(to_status(Error::InvalidArgument(
                            "send either a copy_id alone or PDF chunks, not both".into(),
                        )));
                    }
                    let report = self
                        .app
                        .verify_copy(&caller, &id)
                        .await
                        .map_err(to_status)?;
                    return Ok(Response::new(convert::report(&report)));
                }
                Some(Source::CopyId(_)) => {
                    return Err(to_status(Error::InvalidArgument(
                        "send either a copy_id alone or PDF chunks, not both".into(),
                    )));
                }
                Some(Source::Chunk(chunk)) => {
                    if (pdf.len() + chunk.len()) as u64 > limit {
                        return Err(to_status(Error::TooLarge(format!(
                            "the PDF is larger than the verification limit of {limit} bytes"
                        ))));
                    }
                    pdf.extend_from_slice(&chunk);
                }
                None => {
                    return Err(to_status(Error::InvalidArgument(
                        "empty message in the stream".into(),
                    )));
                }
            }
            first = false;
        }
        if pdf.is_empty() {
            return Err(to_status(Error::InvalidArgument(
                "nothing to verify: send a copy_id or the PDF's bytes".into(),
            )));
        }
        let report = self
            .app
            .verify_upload(&caller, pdf)
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::report(&report)))
    }
}
