//! `RecordService`: reads stored copies back, re-verified on the way out; reuse queries;
//! revocation; the citizen's consents and the accesses to their copies.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use super::caller::Door;
use super::{CHUNK_SIZE, convert};
use crate::app::{Action, App};
use crate::proto::record_service_server::RecordService;
use crate::proto::{
    CertificationRecord, Consent, CopyHeader, FindReusableRequest, FindReusableResponse,
    GetCopyRequest, GetCopyResponse, GrantConsentRequest, ListAccessesRequest,
    ListAccessesResponse, ListConsentsRequest, ListConsentsResponse, ListRecordsRequest,
    ListRecordsResponse, LookupByHashRequest, LookupByHashResponse, RevokeCopyRequest,
    WithdrawConsentRequest, get_copy_response::Part,
};
use crate::records::ConsentRequest;

/// The RecordService RPCs.
#[derive(Debug, Clone)]
pub struct RecordApi {
    door: Door,
}

impl RecordApi {
    /// Serves `app` through `door`'s limits.
    pub fn new(door: Door) -> Self {
        Self { door }
    }

    fn app(&self) -> &Arc<App> {
        &self.door.app
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
        let action = Action::ReadCopy;
        let (caller, permit) = self.door.enter(&request, action).await?;
        let id = request.into_inner().id;
        let copy = self.app().read_copy(&caller, &id).await;
        let copy = self.door.answer(&caller, action, copy).await?;
        let header = GetCopyResponse {
            part: Some(Part::Header(CopyHeader {
                record: Some(convert::record(&copy.record)),
                report: Some(convert::report(&copy.report)),
                hash_matches: copy.hash_matches,
                size: copy.bytes.len() as u64,
            })),
        };
        let bytes = copy.bytes;
        // The call counts as running until its last chunk is sent.
        let chunks = (0..bytes.len()).step_by(CHUNK_SIZE).map(move |start| {
            let _running = &permit;
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
        let action = Action::ListRecords;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let page = self
            .app()
            .list_records(&caller, &r.owner_id, r.page_size, &r.page_token)
            .await;
        let page = self.door.answer(&caller, action, page).await?;
        Ok(Response::new(ListRecordsResponse {
            records: page.records.iter().map(convert::record).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
        }))
    }

    async fn find_reusable(
        &self,
        request: Request<FindReusableRequest>,
    ) -> Result<Response<FindReusableResponse>, Status> {
        let action = Action::FindReusable;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let found = self
            .app()
            .find_reusable(&caller, &r.owner_id, &r.document_type)
            .await;
        let found = self.door.answer(&caller, action, found).await?;
        Ok(Response::new(FindReusableResponse {
            records: found.iter().map(convert::record).collect(),
        }))
    }

    async fn lookup_by_hash(
        &self,
        request: Request<LookupByHashRequest>,
    ) -> Result<Response<LookupByHashResponse>, Status> {
        let action = Action::LookupByHash;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let found = self.app().lookup_by_hash(&caller, &r.sha256).await;
        let found = self.door.answer(&caller, action, found).await?;
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
        let action = Action::RevokeCopy;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let record = self
            .app()
            .revoke_copy(
                &caller,
                &r.id,
                &r.reason,
                &r.by,
                &crate::records::Decision {
                    number: r.decision_number,
                    date: r.decision_date,
                    official: r.decided_by,
                },
            )
            .await;
        let record = self.door.answer(&caller, action, record).await?;
        Ok(Response::new(convert::record(&record)))
    }

    async fn grant_consent(
        &self,
        request: Request<GrantConsentRequest>,
    ) -> Result<Response<Consent>, Status> {
        let action = Action::GrantConsent;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let wanted = ConsentRequest {
            owner_id: r.owner_id,
            agency: r.agency,
            copy_id: r.copy_id,
            document_type: r.document_type,
            purpose: r.purpose,
            valid_until: r.valid_until,
        };
        let consent = self.app().grant_consent(&caller, wanted).await;
        let consent = self.door.answer(&caller, action, consent).await?;
        Ok(Response::new(convert::consent(&consent, self.app().now())))
    }

    async fn withdraw_consent(
        &self,
        request: Request<WithdrawConsentRequest>,
    ) -> Result<Response<Consent>, Status> {
        let action = Action::WithdrawConsent;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let id = request.into_inner().consent_id;
        let consent = self.app().withdraw_consent(&caller, &id).await;
        let consent = self.door.answer(&caller, action, consent).await?;
        Ok(Response::new(convert::consent(&consent, self.app().now())))
    }

    async fn list_consents(
        &self,
        request: Request<ListConsentsRequest>,
    ) -> Result<Response<ListConsentsResponse>, Status> {
        let action = Action::ListConsents;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let owner = request.into_inner().owner_id;
        let consents = self.app().list_consents(&caller, &owner).await;
        let consents = self.door.answer(&caller, action, consents).await?;
        let now = self.app().now();
        Ok(Response::new(ListConsentsResponse {
            consents: consents.iter().map(|c| convert::consent(c, now)).collect(),
        }))
    }

    async fn list_accesses(
        &self,
        request: Request<ListAccessesRequest>,
    ) -> Result<Response<ListAccessesResponse>, Status> {
        let action = Action::ListAccesses;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let owner = request.into_inner().owner_id;
        let accesses = self.app().list_accesses(&caller, &owner).await;
        let accesses = self.door.answer(&caller, action, accesses).await?;
        Ok(Response::new(ListAccessesResponse {
            accesses: accesses.into_iter().map(convert::access).collect(),
        }))
    }
}
