//! PAdES baseline B-B and B-T signing of a PDF: one signature per incremental update.

use time::OffsetDateTime;
use time::macros::format_description;

use super::cms::{
    CmsError, build_signed_data, max_container_len, signed_attributes, signed_data_with,
};
use super::timestamp::{
    SignatureTimeStamper, TimeStampFailure, add_signature_timestamp, signature_value,
};
use crate::pdf::incremental::{IncrementalError, PreparedSignature, SignatureField, prepare};
use crate::pki::key::Credential;
use crate::pki::key::KeyAlgorithm;

/// Errors signing a PDF.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The PDF could not take the signature update.
    #[error(transparent)]
    Pdf(#[from] IncrementalError),
    /// The CMS container could not be built or signed.
    #[error(transparent)]
    Cms(#[from] CmsError),
    /// No signature time-stamp could be had (level B-T): every TSA tried failed.
    #[error("no signature time-stamp: {0}")]
    TimeStamp(#[from] TimeStampFailure),
}

/// What to sign with and how the signature appears.
#[derive(Clone, Debug)]
pub struct SignRequest<'a> {
    /// Key and certificate chain.
    pub credential: &'a Credential,
    /// Field name (/T), unique in the document.
    pub field_name: String,
    /// Zero-based page of the widget.
    pub page_index: usize,
    /// Widget rectangle (user space); zeros for invisible.
    pub rect: [f32; 4],
    /// Claimed signing time, written to /M with its UTC offset.
    pub signing_time: OffsetDateTime,
    /// /Name.
    pub signer_name: Option<String>,
    /// /Reason.
    pub reason: Option<String>,
    /// /Location.
    pub location: Option<String>,
}

/// Slack added to the measured container size (none is needed today; it keeps room for
/// encoders that add a byte or two).
const CONTAINER_SLACK: usize = 32;

/// Formats a time as a PDF date string, e.g. `D:20261124091530+07'00'`.
pub fn pdf_date(t: OffsetDateTime) -> String {
    let base = t
        .format(format_description!(
            "D:[year][month][day][hour][minute][second]"
        ))
        .unwrap_or_default();
    let (h, m, _) = t.offset().as_hms();
    let sign = if t.offset().is_negative() { '-' } else { '+' };
    format!("{base}{sign}{:02}'{:02}'", h.abs(), m.abs())
}

/// The signature field of `request` with room for a container of `capacity` bytes.
fn field_of(request: &SignRequest<'_>, capacity: usize) -> SignatureField {
    SignatureField {
        name: request.field_name.clone(),
        page_index: request.page_index,
        rect: request.rect,
        sub_filter: "ETSI.CAdES.detached".into(),
        pdf_date: pdf_date(request.signing_time),
        signer_name: request.signer_name.clone(),
        reason: request.reason.clone(),
        location: request.location.clone(),
        contents_capacity: capacity + CONTAINER_SLACK,
    }
}

/// Digest of the bytes a prepared signature covers, with the hash of `algorithm`.
fn covered_digest(prepared: &PreparedSignature, algorithm: KeyAlgorithm) -> ring::digest::Digest {
    let mut ctx = ring::digest::Context::new(algorithm.digest());
    for part in prepared.signed_bytes() {
        ctx.update(part);
    }
    ctx.finish()
}

/// Signs `pdf` as PAdES B-B (`ETSI.CAdES.detached`) in a new incremental update.
pub fn sign_pdf(pdf: &[u8], request: &SignRequest<'_>) -> Result<Vec<u8>, SignError> {
    sign_pdf_stamped(pdf, request, None)
}

/// Signs `pdf` in a new incremental update: PAdES B-T when `stamper` is given (the
/// signature value time-stamped, the placeholder holding room for its token), else B-B.
pub fn sign_pdf_stamped(
    pdf: &[u8],
    request: &SignRequest<'_>,
    stamper: Option<&dyn SignatureTimeStamper>,
) -> Result<Vec<u8>, SignError> {
    let credential = request.credential;
    let capacity = max_container_len(credential.key.as_ref(), &credential.chain)?
        + stamper.map_or(0, token_room);
    let prepared = prepare(pdf, &field_of(request, capacity))?;
    let digest = covered_digest(&prepared, credential.key.algorithm());
    let mut container =
        build_signed_data(digest.as_ref(), credential.key.as_ref(), &credential.chain)?;
    if let Some(stamper) = stamper {
        container = stamp(&container, stamper)?;
    }
    Ok(prepared.embed(&container)?)
}

/// Room a token of `stamper` takes in the container: the token and the attribute around it.
fn token_room(stamper: &dyn SignatureTimeStamper) -> usize {
    stamper.max_token_len() + 64
}

/// `container` with a signature time-stamp over its signature value.
fn stamp(container: &[u8], stamper: &dyn SignatureTimeStamper) -> Result<Vec<u8>, SignError> {
    let value = signature_value(container)?;
    let token = stamper.time_stamp(&value)?;
    if token.len() > stamper.max_token_len() {
        return Err(SignError::TimeStamp(TimeStampFailure(format!(
            "the time-stamp token of {} bytes exceeds the {} bytes kept for it",
            token.len(),
            stamper.max_token_len()
        ))));
    }
    Ok(add_signature_timestamp(container, &token)?)
}

/// A signature update waiting for a signature value made outside the service (on the
/// certifier's own token): the PDF with its placeholder, and the signed attributes the
/// key must sign.
#[derive(Debug)]
pub struct ExternalSignature {
    /// The PDF with the signature field and an empty /Contents.
    pub prepared: PreparedSignature,
    /// DER of the CMS signed attributes: the bytes to sign.
    pub signed_attributes: Vec<u8>,
}

/// Prepares a PAdES B-B signature by the holder of `chain`'s first certificate, whose key
/// is elsewhere (`request.credential` holds an [`crate::pki::key::ExternalKey`]); the
/// signature value is embedded later by [`finish_external`].
pub fn prepare_external(
    pdf: &[u8],
    request: &SignRequest<'_>,
) -> Result<ExternalSignature, SignError> {
    prepare_external_stamped(pdf, request, 0)
}

/// As [`prepare_external`], keeping `token_room` more bytes in the placeholder for a
/// signature time-stamp added by [`finish_external_stamped`] (0: B-B).
pub fn prepare_external_stamped(
    pdf: &[u8],
    request: &SignRequest<'_>,
    token_room: usize,
) -> Result<ExternalSignature, SignError> {
    let chain = &request.credential.chain;
    let capacity = max_container_len(request.credential.key.as_ref(), chain)? + token_room;
    let prepared = prepare(pdf, &field_of(request, capacity))?;
    let digest = covered_digest(&prepared, request.credential.key.algorithm());
    let signed_attributes = signed_attributes(digest.as_ref(), chain)?;
    Ok(ExternalSignature {
        prepared,
        signed_attributes,
    })
}

/// Embeds `signature` (made over `signed_attributes` by the key of `chain`'s first
/// certificate) into the prepared PDF. The caller checks the signature value first.
pub fn finish_external(
    prepared: PreparedSignature,
    signed_attributes: &[u8],
    signature: &[u8],
    chain: &[Vec<u8>],
    algorithm: KeyAlgorithm,
) -> Result<Vec<u8>, SignError> {
    finish_external_stamped(
        prepared,
        signed_attributes,
        signature,
        chain,
        algorithm,
        None,
    )
}

/// As [`finish_external`], adding a signature time-stamp from `stamper` when given (the
/// placeholder must have been prepared with room for it, see [`token_room_of`]).
pub fn finish_external_stamped(
    prepared: PreparedSignature,
    signed_attributes: &[u8],
    signature: &[u8],
    chain: &[Vec<u8>],
    algorithm: KeyAlgorithm,
    stamper: Option<&dyn SignatureTimeStamper>,
) -> Result<Vec<u8>, SignError> {
    let mut container = signed_data_with(signed_attributes, signature, chain, algorithm)?;
    if let Some(stamper) = stamper {
        container = stamp(&container, stamper)?;
    }
    Ok(prepared.embed(&container)?)
}

/// The bytes [`prepare_external_stamped`] must keep for a token of `stamper`.
pub fn token_room_of(stamper: &dyn SignatureTimeStamper) -> usize {
    token_room(stamper)
}

impl SignError {
    /// The kind of this failure: unavailable when no TSA gave a time-stamp, else internal
    /// (a key, certificate or PDF problem on the server side).
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        match self {
            SignError::TimeStamp(_) => crate::error_kind::ErrorKind::Unavailable,
            _ => crate::error_kind::ErrorKind::Internal,
        }
    }
}
