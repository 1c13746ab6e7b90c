//! The certifier's side of signing on their own device (`saoy sign-pending`): list the
//! copies awaiting this certifier, sign each one's signed attributes with a key that stays
//! here (a PKCS#8 file for tests, or a PKCS#11 token opened once — one PIN entry for the
//! whole batch), and hand each signature value to `CompleteCertification`. The key never
//! goes to the server; only signature values do.

use std::path::Path;
use std::sync::Arc;

use tonic::transport::Channel;

use crate::pki::key::{KeyError, RingKey, SigningKey, read_pem_certificates};
use crate::proto::certification_service_client::CertificationServiceClient;
use crate::proto::{CompleteCertificationRequest, ListPendingCertificationsRequest};

/// Opens the certifier's key: `pkcs11:` URI (RFC 7512) or a PKCS#8 PEM file.
pub fn open_key(spec: &str) -> Result<Arc<dyn SigningKey>, KeyError> {
    if spec.starts_with("pkcs11:") {
        let spec = crate::pki::pkcs11::Pkcs11Spec::from_uri(spec)?;
        return Ok(Arc::new(crate::pki::pkcs11::Pkcs11Key::open(&spec)?));
    }
    Ok(Arc::new(RingKey::load(Path::new(spec))?))
}

/// What happened to one pending copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The copy.
    pub copy_id: String,
    /// Its certification reference.
    pub reference: String,
    /// `None` when issued; else why not.
    pub error: Option<String>,
}

/// The outcome of one `sign-pending` run.
#[derive(Debug, Default)]
pub struct Batch {
    /// The copies of this certifier's certificate, signed or failed.
    pub copies: Vec<Signed>,
    /// Pending copies awaiting another certifier (left alone).
    pub others: usize,
}

/// Signs every copy awaiting the certificate of `signer_cert` (PEM, its first certificate)
/// with `key`, through `channel` (a connection made with the certifier's TLS identity).
pub async fn sign_pending(
    channel: Channel,
    signer_cert: &Path,
    key: &dyn SigningKey,
) -> Result<Batch, String> {
    let certificate = read_pem_certificates(signer_cert)
        .map_err(|e| e.to_string())?
        .swap_remove(0);
    let mut client = CertificationServiceClient::new(channel);
    let listed = client
        .list_pending_certifications(ListPendingCertificationsRequest {})
        .await
        .map_err(|s| format!("ListPendingCertifications: {:?}: {}", s.code(), s.message()))?
        .into_inner();
    let mut batch = Batch::default();
    for record in listed.pending {
        let Some(pending) = &record.pending else {
            continue;
        };
        if pending.signer_certificate != certificate {
            batch.others += 1;
            continue;
        }
        let error = match key.sign(&pending.signed_attributes) {
            Err(e) => Some(format!("signing failed: {e}")),
            Ok(signature_value) => client
                .complete_certification(CompleteCertificationRequest {
                    copy_id: record.id.clone(),
                    signature_value,
                })
                .await
                .err()
                .map(|s| format!("{:?}: {}", s.code(), s.message())),
        };
        batch.copies.push(Signed {
            copy_id: record.id,
            reference: record.reference,
            error,
        });
    }
    Ok(batch)
}
