//! A real tonic client for the saoy services.

use saoy::proto::certification_service_client::CertificationServiceClient;
use saoy::proto::record_service_client::RecordServiceClient;
use saoy::proto::{
    CertificationRecord, CertifyMetadata, CertifyRequest, CopyHeader, FileHeader, GetCopyRequest,
    certify_request::Part, get_copy_response,
};

/// A channel to `url` over mutual TLS as the test client `who` of certs-test/tls
/// (`"none"`: TLS without a client certificate).
pub async fn channel(url: &str, who: &str) -> tonic::transport::Channel {
    let dir = super::crate_dir().join("certs-test/tls");
    let mut tls = saoy::client::ClientTls::test(&dir, who);
    if who == "none" {
        tls.cert = None;
        tls.key = None;
    }
    saoy::client::connect(url, &tls).await.expect("connect")
}

/// A citizen assertion for `owner` from the test portal, living `ttl_secs` (negative:
/// expired).
pub fn citizen_token(owner: &str, ttl_secs: i64) -> String {
    let dir = super::crate_dir().join("certs-test/tls");
    let cert = super::read_der(&dir.join("portal.pem"));
    let holder = saoy::identity::profile::read_holder(&cert).expect("portal profile");
    let key = std::fs::read(dir.join("portal.key.pem")).expect("portal key");
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    saoy::identity::mint(owner, &holder.name, &key, now, ttl_secs).expect("mint")
}

/// `request` with the citizen assertion `token` in `x-saoy-citizen`.
pub fn as_citizen<T>(request: T, token: &str) -> tonic::Request<T> {
    let mut r = tonic::Request::new(request);
    r.metadata_mut()
        .insert("x-saoy-citizen", token.parse().expect("ascii token"));
    r
}

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
        certifier: String::new(),
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
    let mut client = CertificationServiceClient::new(channel(url, "clerk").await);
    client
        .certify(futures::stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

/// Calls GetCopy and reassembles the stream.
pub async fn get_copy(url: &str, id: &str) -> Result<(CopyHeader, Vec<u8>), tonic::Status> {
    let mut client = RecordServiceClient::new(channel(url, "clerk").await);
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
