//! A real tonic client for the saoy services.

use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::{
    CertificationRecord, CertifyMetadata, CertifyRequest, CopyHeader, FileHeader, GetCopyRequest,
    certify_request::Part, get_copy_response,
};

/// One file to upload.
pub struct Upload {
    /// File name.
    pub name: String,
    /// Declared media type ("" to let the server sniff).
    pub media_type: String,
    /// Content.
    pub data: Vec<u8>,
}

/// Request metadata that passes validation.
pub fn meta(request_id: &str, pages: u32) -> CertifyMetadata {
    CertifyMetadata {
        owner_id: "079203001234".into(),
        document_type: "Giấy khai sinh".into(),
        document_name: "Giấy khai sinh bản chính".into(),
        procedure_code: "2.000815".into(),
        page_count: pages,
        client_request_id: request_id.into(),
        allow_low_resolution: false,
    }
}

/// The message stream of a Certify call: metadata, then each file in 64 KiB chunks.
pub fn messages(meta: Option<CertifyMetadata>, files: &[Upload]) -> Vec<CertifyRequest> {
    let mut out = Vec::new();
    if let Some(m) = meta {
        out.push(CertifyRequest {
            part: Some(Part::Request(m)),
        });
    }
    for f in files {
        out.push(CertifyRequest {
            part: Some(Part::File(FileHeader {
                name: f.name.clone(),
                media_type: f.media_type.clone(),
            })),
        });
        for chunk in f.data.chunks(64 * 1024) {
            out.push(CertifyRequest {
                part: Some(Part::Chunk(chunk.to_vec())),
            });
        }
    }
    out
}

/// Calls Certify.
pub async fn certify(
    url: &str,
    messages: Vec<CertifyRequest>,
) -> Result<CertificationRecord, tonic::Status> {
    let mut client = CertificationServiceClient::connect(url.to_string())
        .await
        .expect("connect");
    client
        .certify(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

/// Calls GetCopy and reassembles the stream.
pub async fn get_copy(url: &str, id: &str) -> Result<(CopyHeader, Vec<u8>), tonic::Status> {
    let mut client = RecordServiceClient::connect(url.to_string())
        .await
        .expect("connect");
    let mut stream = client
        .get_copy(GetCopyRequest { id: id.into() })
        .await?
        .into_inner();
    let mut header = None;
    let mut bytes = Vec::new();
    while let Some(msg) = stream.message().await? {
        match msg.part {
            Some(get_copy_response::Part::Header(h)) => header = Some(h),
            Some(get_copy_response::Part::Chunk(c)) => bytes.extend_from_slice(&c),
            None => {}
        }
    }
    Ok((header.expect("a header comes first"), bytes))
}
