//! `CertificationService`: receives the request metadata and the files as a stream.

use std::sync::Arc;

use bytes::Bytes;
use tokio_stream::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::convert;
use super::status::{invalid, to_status, too_large};
use crate::app::{App, CertifyInput, CertifyMeta};
use crate::config::Limits;
use crate::digitize::UploadedFile;
use crate::proto::certification_service_server::CertificationService;
use crate::proto::{CertificationRecord, CertifyRequest, certify_request::Part};

/// The Certify RPC.
#[derive(Debug, Clone)]
pub struct CertificationApi {
    app: Arc<App>,
}

impl CertificationApi {
    /// Wraps the app.
    pub fn new(app: Arc<App>) -> Self {
        Self { app }
    }
}

/// A file being received.
struct Incoming {
    name: String,
    media_type: Option<String>,
    data: Vec<u8>,
}

impl Incoming {
    fn finish(self) -> UploadedFile {
        UploadedFile {
            name: self.name,
            media_type: self.media_type,
            data: Bytes::from(self.data),
        }
    }
}

/// Reads the file part of the stream, enforcing the size limits as chunks arrive.
async fn receive_files(
    stream: &mut Streaming<CertifyRequest>,
    limits: &Limits,
) -> Result<Vec<UploadedFile>, Status> {
    let mut files: Vec<UploadedFile> = Vec::new();
    let mut current: Option<Incoming> = None;
    let mut total: u64 = 0;
    while let Some(message) = stream.next().await {
        let message = message?;
        match message.part {
            Some(Part::File(header)) => {
                if let Some(done) = current.take() {
                    files.push(done.finish());
                }
                if files.len() as u64 >= u64::from(limits.max_files) {
                    return Err(too_large(format!(
                        "more than {} files in one request: split the original",
                        limits.max_files
                    )));
                }
                current = Some(Incoming {
                    name: header.name.chars().take(255).collect(),
                    media_type: Some(header.media_type).filter(|m| !m.is_empty()),
                    data: Vec::new(),
                });
            }
            Some(Part::Chunk(chunk)) => {
                let file = current.as_mut().ok_or_else(|| {
                    invalid("a chunk arrived before any file header: send `file` first")
                })?;
                total += chunk.len() as u64;
                if (file.data.len() + chunk.len()) as u64 > limits.max_file_bytes {
                    return Err(too_large(format!(
                        "file {:?} is larger than the limit of {} bytes",
                        file.name, limits.max_file_bytes
                    )));
                }
                if total > limits.max_upload_bytes {
                    return Err(too_large(format!(
                        "the upload is larger than the limit of {} bytes",
                        limits.max_upload_bytes
                    )));
                }
                file.data.extend_from_slice(&chunk);
            }
            Some(Part::Request(_)) => {
                return Err(invalid("the request metadata may be sent only once, first"));
            }
            None => return Err(invalid("empty message in the stream")),
        }
    }
    if let Some(done) = current.take() {
        files.push(done.finish());
    }
    if let Some((i, f)) = files.iter().enumerate().find(|(_, f)| f.data.is_empty()) {
        return Err(invalid(format!(
            "file {} ({:?}) is empty: upload the scan again",
            i + 1,
            f.name
        )));
    }
    Ok(files)
}

#[tonic::async_trait]
impl CertificationService for CertificationApi {
    async fn certify(
        &self,
        request: Request<Streaming<CertifyRequest>>,
    ) -> Result<Response<CertificationRecord>, Status> {
        let mut stream = request.into_inner();
        let first = stream
            .next()
            .await
            .ok_or_else(|| invalid("empty stream: send the request metadata first"))??;
        let Some(Part::Request(m)) = first.part else {
            return Err(invalid(
                "the first message must be the request metadata (`request`), not a file or chunk",
            ));
        };
        let meta = CertifyMeta {
            owner_id: m.owner_id,
            document_type: m.document_type,
            document_name: m.document_name,
            procedure_code: m.procedure_code,
            page_count: m.page_count,
            client_request_id: m.client_request_id,
            allow_low_resolution: m.allow_low_resolution,
        };
        // Refuse bad metadata before reading megabytes of scans.
        self.app.check_metadata(&meta).map_err(to_status)?;
        let files = receive_files(&mut stream, &self.app.config().limits).await?;
        let certified = self
            .app
            .certify(CertifyInput { meta, files })
            .await
            .map_err(to_status)?;
        let mut record = convert::record(&certified.record);
        record.warnings = certified.warnings;
        Ok(Response::new(record))
    }
}
