//! `RecordService`: reads stored copies back, re-verified on the way out.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::status::to_status;
use super::{CHUNK_SIZE, convert};
use crate::app::App;
use crate::proto::record_service_server::RecordService;
use crate::proto::{CopyHeader, GetCopyRequest, GetCopyResponse, get_copy_response::Part};

/// The RecordService RPCs.
#[derive(Debug, Clone)]
pub struct RecordApi {
    app: Arc<App>,
}

impl RecordApi {
    /// Wraps the app.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

type CopyStream = Pin<Box<dyn Stream<Item = Result<GetCopyResponse, Status>> + Send>>;

#[tonic::async_trait]
impl RecordService for RecordApi {
    type GetCopyStream = CopyStream;

    async fn get_copy(
        &self,
        request: Request<GetCopyRequest>,
    ) -> Result<Response<Self::GetCopyStream>, Status> {
        let id = request.into_inner().id;
        let copy = self.app.get_copy(&id).await.map_err(to_status)?;
        let header = GetCopyResponse {
            part: Some(Part::Header(CopyHeader {
                record: Some(convert::record(&copy.record)),
                report: Some(convert::report(&copy.report)),
                hash_matches: copy.hash_matches,
                size: copy.bytes.len() as u64,
            })),
        };
        let bytes = copy.bytes;
        let chunks = (0..bytes.len()).step_by(CHUNK_SIZE).map(move |start| {
            let end = (start + CHUNK_SIZE).min(bytes.len());
            Ok(GetCopyResponse {
                part: Some(Part::Chunk(bytes.slice(start..end).to_vec())),
            })
        });
        let stream = futures::stream::iter(std::iter::once(Ok(header)).chain(chunks));
        Ok(Response::new(Box::pin(stream)))
    }
}
