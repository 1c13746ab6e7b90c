//! `CertificationService`: receives the request metadata and the files as a stream.

use std::sync::Arc;

use tonic::{Request, Response, Status, Streaming};

use super::caller::Door;
use super::convert;
use super::status::to_status;
use super::upload::{Piece, first_message, receive_files};
use crate::app::{Action, App, CertifyInput, CertifyMeta, RefusalSubject, RefuseInput};
use crate::error::Error;
use crate::proto::certification_service_server::CertificationService;
use crate::proto::{
    CertificationRecord, CertifyMetadata, CertifyRequest, CompleteCertificationRequest,
    ListPendingCertificationsRequest, ListPendingCertificationsResponse,
    RefuseCertificationRequest, RefuseCertificationResponse, certify_request::Part,
    refuse_certification_request::Subject,
};

/// The Certify RPC.
#[derive(Debug, Clone)]
pub struct CertificationApi {
    door: Door,
}

impl CertificationApi {
    /// Serves `app` through `door`'s limits.
    pub fn new(door: Door) -> Self {
        Self { door }
    }

    fn app(&self) -> &Arc<App> {
        &self.door.app
    }
}

fn meta_of(m: CertifyMetadata) -> CertifyMeta {
    CertifyMeta {
        owner_id: m.owner_id,
        document_type: m.document_type,
        document_name: m.document_name,
        procedure_code: m.procedure_code,
        page_count: m.page_count,
        client_request_id: m.client_request_id,
        allow_low_resolution: m.allow_low_resolution,
        certifier: m.certifier,
    }
}

#[tonic::async_trait]
impl CertificationService for CertificationApi {
    async fn refuse_certification(
        &self,
        request: Request<RefuseCertificationRequest>,
    ) -> Result<Response<RefuseCertificationResponse>, Status> {
        let action = Action::RefuseCertification;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let subject = match r.subject {
            Some(Subject::CopyId(id)) => Ok(RefusalSubject::Copy(id)),
            Some(Subject::Request(m)) => Ok(RefusalSubject::Request(meta_of(m))),
            None => Err(Error::InvalidArgument(
                "say what is refused: `copy_id` (a pending copy) or `request` (its metadata)"
                    .into(),
            )),
        };
        let refused = match subject {
            Ok(subject) => {
                self.app()
                    .refuse_certification(
                        &caller,
                        RefuseInput {
                            subject,
                            reason_code: r.reason_code,
                            reason_text: r.reason_text,
                        },
                    )
                    .await
            }
            Err(e) => Err(e),
        };
        let refused = self.door.answer(&caller, action, refused).await?;
        Ok(Response::new(RefuseCertificationResponse {
            record: Some(convert::record(&refused.record)),
            notice: refused.notice.to_vec(),
        }))
    }

    async fn certify(
        &self,
        request: Request<Streaming<CertifyRequest>>,
    ) -> Result<Response<CertificationRecord>, Status> {
        let action = Action::Certify;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        // Refuse a caller who may not certify before reading megabytes of scans.
        let allowed = self.app().admit_own_agency(&caller, action);
        self.door.answer(&caller, action, allowed).await?;
        let mut stream = request.into_inner();
        let gate = &self.door.gate;
        let first = first_message(&mut stream, gate, "the request metadata").await?;
        let Some(Part::Request(m)) = first.part else {
            return Err(to_status(Error::InvalidArgument(
                "the first message must be the request metadata (`request`), not a file or chunk"
                    .into(),
            )));
        };
        let meta = meta_of(m);
        // Refuse bad metadata before reading megabytes of scans.
        self.app().check_metadata(&meta).map_err(to_status)?;
        let mut hold = gate.memory_hold();
        let limits = &self.app().config().limits;
        let files = receive_files(&mut stream, limits, gate, &mut hold, |m| match m.part {
            Some(Part::File(h)) => Piece::File(h),
            Some(Part::Chunk(c)) => Piece::Chunk(c),
            Some(Part::Request(_)) => Piece::Repeated("the request metadata"),
            None => Piece::Empty,
        })
        .await?;
        let certified = self
            .app()
            .certify(&caller, CertifyInput { meta, files })
            .await;
        let certified = self.door.answer(&caller, action, certified).await?;
        let mut record = convert::record(&certified.record);
        record.warnings = certified.warnings;
        if let Some(p) = &certified.pending {
            convert::set_pending(&mut record, p);
        }
        Ok(Response::new(record))
    }

    async fn complete_certification(
        &self,
        request: Request<CompleteCertificationRequest>,
    ) -> Result<Response<CertificationRecord>, Status> {
        let action = Action::CompleteCertification;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let r = request.into_inner();
        let done = self
            .app()
            .complete_certification(&caller, &r.copy_id, &r.signature_value)
            .await;
        let done = self.door.answer(&caller, action, done).await?;
        Ok(Response::new(convert::record(&done)))
    }

    async fn list_pending_certifications(
        &self,
        request: Request<ListPendingCertificationsRequest>,
    ) -> Result<Response<ListPendingCertificationsResponse>, Status> {
        let action = Action::ListPendingCertifications;
        let (caller, _permit) = self.door.enter(&request, action).await?;
        let listed = self.app().list_pending_certifications(&caller).await;
        let listed = self.door.answer(&caller, action, listed).await?;
        let pending = listed
            .iter()
            .map(|l| {
                let mut record = convert::record(&l.record);
                convert::set_pending(&mut record, &l.signature);
                record
            })
            .collect();
        Ok(Response::new(ListPendingCertificationsResponse { pending }))
    }
}
