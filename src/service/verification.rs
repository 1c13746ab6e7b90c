//! `VerificationService`: verifies an uploaded PDF or a stored copy.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::caller::Door;
use super::convert;
use super::status::to_status;
use crate::app::{Action, App};
use crate::error::Error;
use crate::proto::verification_service_server::VerificationService;
use crate::proto::{VerificationReport, VerifyRequest, verify_request::Source};

/// The Verify RPC.
#[derive(Debug, Clone)]
pub struct VerificationApi {
    door: Door,
}

impl VerificationApi {
    /// Serves `app` through `door`'s limits.
    pub fn new(door: Door) -> Self {
        Self { door }
    }

    fn app(&self) -> &Arc<App> {
        &self.door.app
    }
}

fn both() -> Status {
    to_status(Error::InvalidArgument(
        "send either a copy_id alone or PDF chunks, not both".into(),
    ))
}

#[tonic::async_trait]
impl VerificationService for VerificationApi {
    async fn verify(
        &self,
        request: Request<Streaming<VerifyRequest>>,
    ) -> Result<Response<VerificationReport>, Status> {
        // Verifying bytes is public; by copy id it is judged by the use case.
        let (caller, _permit) = self.door.enter(&request, Action::VerifyBytes).await?;
        let mut stream = request.into_inner();
        let gate = &self.door.gate;
        let limit = self.app().config().limits.max_verify_bytes;
        let mut hold = gate.memory_hold();
        let mut pdf: Vec<u8> = Vec::new();
        let mut first = true;
        while let Some(message) = gate.next(&mut stream).await? {
            match message.source {
                Some(Source::CopyId(id)) if first => {
                    if gate.next(&mut stream).await?.is_some() {
                        return Err(both());
                    }
                    let report = self.app().verify_copy(&caller, &id).await;
                    let report = self
                        .door
                        .answer(&caller, Action::VerifyCopy, report)
                        .await?;
                    return Ok(Response::new(convert::report(&report)));
                }
                Some(Source::CopyId(_)) => return Err(both()),
                Some(Source::Chunk(chunk)) => {
                    if (pdf.len() + chunk.len()) as u64 > limit {
                        return Err(to_status(Error::TooLarge(format!(
                            "the PDF is larger than the verification limit of {limit} bytes"
                        ))));
                    }
                    hold.grow(chunk.len())?;
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
        let report = self.app().verify_upload(&caller, pdf).await;
        let report = self
            .door
            .answer(&caller, Action::VerifyBytes, report)
            .await?;
        Ok(Response::new(convert::report(&report)))
    }
}
