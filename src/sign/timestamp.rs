//! Signature time-stamps (PAdES B-T): an RFC 3161 token over a SignerInfo's signature
//! value, kept as the unsigned attribute id-aa-signatureTimeStampToken (RFC 3161 annex A,
//! ETSI EN 319 122-1 §5.3). Who asks a TSA is behind [`SignatureTimeStamper`].

use cms::content_info::ContentInfo;
use cms::signed_data::SignedData;
use const_oid::ObjectIdentifier;
use const_oid::db::rfc5911;
use der::asn1::{Any, SetOfVec};
use der::{Decode, Encode};
use x509_cert::attr::Attribute;

use super::cms::CmsError;

/// `id-aa-signatureTimeStampToken` (RFC 3161 annex A).
pub const OID_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");

/// Why no time-stamp could be had (every TSA tried, each with its reason).
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct TimeStampFailure(pub String);

/// Something that obtains RFC 3161 time-stamp tokens over signature values.
pub trait SignatureTimeStamper: Send + Sync {
    /// A checked time-stamp token (DER ContentInfo of a SignedData over a TSTInfo) whose
    /// message imprint is the hash of `signature_value`.
    fn time_stamp(&self, signature_value: &[u8]) -> Result<Vec<u8>, TimeStampFailure>;

    /// The most bytes a token may take: the signature placeholder keeps this much room.
    fn max_token_len(&self) -> usize;
}

/// The container `container` (a ContentInfo of a SignedData with one SignerInfo) with
/// `token` added as the SignerInfo's signature time-stamp. The signed parts are kept
/// byte for byte (DER in, DER out).
pub fn add_signature_timestamp(container: &[u8], token: &[u8]) -> Result<Vec<u8>, CmsError> {
    let content = ContentInfo::from_der(container)?;
    if content.content_type != rfc5911::ID_SIGNED_DATA {
        return Err(CmsError::Structure("not a SignedData".into()));
    }
    let mut sd: SignedData = content.content.decode_as()?;
    let token_any = Any::from_der(token)?;
    let mut infos: Vec<_> = sd.signer_infos.0.into_vec();
    let Some(info) = infos.first_mut() else {
        return Err(CmsError::Structure(
            "SignedData without a SignerInfo".into(),
        ));
    };
    let attr = Attribute {
        oid: OID_SIGNATURE_TIME_STAMP_TOKEN,
        values: SetOfVec::try_from(vec![token_any])?,
    };
    let mut unsigned: Vec<Attribute> = info
        .unsigned_attrs
        .take()
        .map(SetOfVec::into_vec)
        .unwrap_or_default();
    unsigned.retain(|a| a.oid != OID_SIGNATURE_TIME_STAMP_TOKEN);
    unsigned.push(attr);
    info.unsigned_attrs = Some(SetOfVec::try_from(unsigned)?);
    sd.signer_infos = cms::signed_data::SignerInfos(SetOfVec::try_from(infos)?);
    let content = ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&sd)?,
    };
    Ok(content.to_der()?)
}

/// The signature value of the (first) SignerInfo of `container`.
pub fn signature_value(container: &[u8]) -> Result<Vec<u8>, CmsError> {
    let content = ContentInfo::from_der(container)?;
    let sd: SignedData = content.content.decode_as()?;
    sd.signer_infos
        .0
        .iter()
        .next()
        .map(|si| si.signature.as_bytes().to_vec())
        .ok_or_else(|| CmsError::Structure("SignedData without a SignerInfo".into()))
}
