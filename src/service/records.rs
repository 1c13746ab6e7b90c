//! `RecordService`: reads stored copies back, re-verified on the way out.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::caller::caller_of;
use super::status::to_status;
use super::{CHUNK_SIZE, convert};
use crate::app::App;
use crate::proto::record_service_server::RecordService;
use crate::proto::{
    CertificationRecord, CopyHeader, FindReusableRequest, FindReusableResponse, GetCopyRequest,
    GetCopyResponse, ListRecordsRequest, ListRecordsResponse, LookupByHashRequest,
    LookupByHashResponse, RevokeCopyRequest, get_copy_response::Part,
};

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
        let caller = caller_of(&request);
        let id = request.into_inner().id;
        let copy = self.app.read_copy(&caller, &id).await.map_err(to_status)?;
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

    async fn list_records(
        &self,
        request: Request<ListRecordsRequest>,
    ) -> Result<Response<ListRecordsResponse>, Status> {
        let caller = caller_of(&request);
        let r = request.into_inner();
        let page = self
            .app
            .list_records(&caller, &r.owner_id, r.page_size, &r.page_token)
            .await
            .map_err(to_status)?;
        Ok(Response::new(ListRecordsResponse {
            records: page.records.iter().map(convert::record).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn find_reusable(
        &self,
        request: Request<FindReusableRequest>,
    ) -> Result<Response<FindReusableResponse>, Status> {
        let caller = caller_of(&request);
        let r = request.into_inner();
        let found = self
            .app
            .find_reusable(&caller, &r.owner_id, &r.document_type)
            .await
            .map_err(to_status)?;
        Ok(Response::new(FindReusableResponse {
            records: found.iter().map(convert::record).collect(),
        }))
    }

    async fn lookup_by_hash(
        &self,
        request: Request<LookupByHashRequest>,
    ) -> Result<Response<LookupByHashResponse>, Status> {
        let caller = caller_of(&request);
        let r = request.into_inner();
        let found = self
            .app
            .lookup_by_hash(&caller, &r.sha256)
            .await
            .map_err(to_status)?;
        Ok(Response::new(LookupByHashResponse {
            found: found.record.is_some(),
            valid: found.valid,
            record: found.record.as_ref().map(convert::record),
            reason: found.reason,
        }))
    }

    async fn revoke_copy(
        &self,
        request: Request<RevokeCopyRequest>,
    ) -> Result<Response<CertificationRecord>, Status> {
        let caller = caller_of(&request);
        let r = request.into_inner();
        let record = self
            .app
            .revoke_copy(&caller, &r.id, &r.reason, &r.by)
            .await
            .map_err(to_status)?;
        Ok(Response::new(convert::record(&record)))
    }
}
