//! Builds a detached CMS SignedData (RFC 5652) in the CAdES profile PAdES needs: signed
//! attributes content-type, message-digest and signing-certificate-v2 (RFC 5035); no
//! signing-time attribute (PAdES puts the claimed time in the signature dictionary's /M).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use const_oid::ObjectIdentifier;
use const_oid::db::{rfc5911, rfc5912};
use der::asn1::{Any, OctetString, SetOfVec};
use der::{Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::pki::key::{KeyAlgorithm, KeyError, SigningKey};

/// Errors building the CMS container.
#[derive(Debug, thiserror::Error)]
pub enum CmsError {
    /// A certificate of the signer's chain is not valid DER X.509.
    #[error("signer certificate cannot be parsed: {0}")]
    Certificate(String),
    /// DER encoding failed (should not happen with well-formed inputs).
    #[error("CMS encoding failed: {0}")]
    Encode(#[from] der::Error),
    /// The key refused to sign.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// A container does not have the shape expected (a SignedData with one SignerInfo).
    #[error("CMS container: {0}")]
    Structure(String),
}

/// `id-aa-signingCertificateV2`.
const OID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");

/// ESSCertIDv2 (RFC 5035); hashAlgorithm is omitted because SHA-256 is its DEFAULT.
#[derive(Clone, Debug, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
    issuer_serial: IssuerSerial,
}

/// IssuerSerial (RFC 5035).
#[derive(Clone, Debug, Sequence)]
struct IssuerSerial {
    issuer: Vec<GeneralName>,
    serial_number: SerialNumber,
}

/// SigningCertificateV2 (RFC 5035), without policies.
#[derive(Clone, Debug, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

fn algorithm(oid: ObjectIdentifier, null_params: bool) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: null_params.then_some(Any::null()),
    }
}

fn signature_algorithm(alg: KeyAlgorithm) -> Result<AlgorithmIdentifierOwned, CmsError> {
    /// RSASSA-PSS-params (RFC 8017 A.2.3, RFC 4055 §3.1); trailerField is its DEFAULT, omitted.
    #[derive(Clone, Debug, Sequence)]
    struct RsaPssParams {
        #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
        hash_algorithm: AlgorithmIdentifierOwned,
        #[asn1(context_specific = "1", tag_mode = "EXPLICIT")]
        mask_gen_algorithm: AlgorithmIdentifierOwned,
        #[asn1(context_specific = "2", tag_mode = "EXPLICIT")]
        salt_length: u32,
    }
    Ok(match alg {
        KeyAlgorithm::RsaPkcs1Sha256 => algorithm(rfc5912::SHA_256_WITH_RSA_ENCRYPTION, true),
        KeyAlgorithm::RsaPssSha256 => {
            // id-RSASSA-PSS with explicit parameters: SHA-256 (with NULL parameters, as
            // RFC 4055's sha256Identifier), MGF1 over SHA-256, a 32-byte salt.
            let sha256 = algorithm(rfc5912::ID_SHA_256, true);
            let params = RsaPssParams {
                hash_algorithm: sha256.clone(),
                mask_gen_algorithm: AlgorithmIdentifierOwned {
                    oid: rfc5912::ID_MGF_1,
                    parameters: Some(Any::encode_from(&sha256)?),
                },
                salt_length: 32,
            };
            AlgorithmIdentifierOwned {
                oid: rfc5912::ID_RSASSA_PSS,
                parameters: Some(Any::encode_from(&params)?),
            }
        }
        KeyAlgorithm::EcdsaP256Sha256 => algorithm(rfc5912::ECDSA_WITH_SHA_256, false),
        KeyAlgorithm::EcdsaP384Sha384 => algorithm(rfc5912::ECDSA_WITH_SHA_384, false),
    })
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, CmsError> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// Builds and signs a detached SignedData over a document whose digest (with the key
/// algorithm's hash, [`KeyAlgorithm::digest`]) is `digest`.
/// `chain` is DER certificates, signer first; all are embedded.
pub fn build_signed_data(
    digest: &[u8],
    key: &dyn SigningKey,
    chain: &[Vec<u8>],
) -> Result<Vec<u8>, CmsError> {
    let attrs = signed_attributes(digest, chain)?;
    let signature = key.sign(&attrs)?;
    signed_data_with(&attrs, &signature, chain, key.algorithm())
}

/// The length of the container [`build_signed_data`] would produce, at most: built with a
/// signature value of the key's maximum length, so the placeholder always fits.
pub fn max_container_len(key: &dyn SigningKey, chain: &[Vec<u8>]) -> Result<usize, CmsError> {
    let attrs = signed_attributes(&vec![0u8; key.algorithm().digest().output_len()], chain)?;
    let dummy = vec![0xFFu8; key.max_signature_len()];
    let container = signed_data_with(&attrs, &dummy, chain, key.algorithm())?;
    Ok(container.len())
}

fn certificates(chain: &[Vec<u8>]) -> Result<Vec<Certificate>, CmsError> {
    let certs: Vec<Certificate> = chain
        .iter()
        .map(|der| Certificate::from_der(der).map_err(|e| CmsError::Certificate(e.to_string())))
        .collect::<Result<_, _>>()?;
    if certs.is_empty() {
        return Err(CmsError::Certificate("empty chain".into()));
    }
    Ok(certs)
}

/// The DER of the signed attributes (a SET OF: content-type, message-digest over
/// `digest`, signing-certificate-v2 of the chain's first certificate): the bytes the
/// signer's key signs (RFC 5652 §5.4).
pub fn signed_attributes(digest: &[u8], chain: &[Vec<u8>]) -> Result<Vec<u8>, CmsError> {
    signed_attributes_of(rfc5911::ID_DATA, digest, chain)
}

/// As [`signed_attributes`], with `content_type` as the content-type attribute.
fn signed_attributes_of(
    content_type: ObjectIdentifier,
    digest: &[u8],
    chain: &[Vec<u8>],
) -> Result<Vec<u8>, CmsError> {
    let certs = certificates(chain)?;
    let signer = &certs[0];
    let signer_der = chain.first().map(Vec::as_slice).unwrap_or_default();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(
                ring::digest::digest(&ring::digest::SHA256, signer_der).as_ref(),
            )?,
            issuer_serial: IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(
                    signer.tbs_certificate.issuer.clone(),
                )],
                serial_number: signer.tbs_certificate.serial_number.clone(),
            },
        }],
    };
    let signed_attrs = SetOfVec::try_from(vec![
        attribute(rfc5911::ID_CONTENT_TYPE, Any::encode_from(&content_type)?)?,
        attribute(
            rfc5911::ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest)?)?,
        )?,
        attribute(OID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
    ])?;
    Ok(signed_attrs.to_der()?)
}

/// The SignedData (in its ContentInfo) around signed attributes `attrs` (as made by
/// [`signed_attributes`]) and the signature value made over them.
pub fn signed_data_with(
    attrs: &[u8],
    signature: &[u8],
    chain: &[Vec<u8>],
    alg: KeyAlgorithm,
) -> Result<Vec<u8>, CmsError> {
    signed_data_inner(attrs, signature, chain, alg, rfc5911::ID_DATA, None)
}

/// A SignedData (in its ContentInfo) that encapsulates `econtent` of type `content_type`
/// (e.g. a TSTInfo: an RFC 3161 token), signed by `key` with the same signed attributes as
/// PDF signatures (content-type, message-digest, signing-certificate-v2); the chain is
/// embedded only when `embed_chain` (RFC 3161: when the request asked for it).
pub fn encapsulated_signed_data(
    content_type: ObjectIdentifier,
    econtent: &[u8],
    key: &dyn SigningKey,
    chain: &[Vec<u8>],
    embed_chain: bool,
) -> Result<Vec<u8>, CmsError> {
    let digest = ring::digest::digest(key.algorithm().digest(), econtent);
    let attrs = signed_attributes_of(content_type, digest.as_ref(), chain)?;
    let signature = key.sign(&attrs)?;
    signed_data_inner(
        &attrs,
        &signature,
        chain,
        key.algorithm(),
        content_type,
        Some((econtent, embed_chain)),
    )
}

fn signed_data_inner(
    attrs: &[u8],
    signature: &[u8],
    chain: &[Vec<u8>],
    alg: KeyAlgorithm,
    content_type: ObjectIdentifier,
    econtent: Option<(&[u8], bool)>,
) -> Result<Vec<u8>, CmsError> {
    let certs = certificates(chain)?;
    let embed_chain = econtent.is_none_or(|(_, embed)| embed);
    let signer = &certs[0];
    let signed_attrs = SetOfVec::<Attribute>::from_der(attrs)?;
    let digest_alg = match alg {
        KeyAlgorithm::EcdsaP384Sha384 => algorithm(rfc5912::ID_SHA_384, false),
        _ => algorithm(rfc5912::ID_SHA_256, false),
    };
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: signer.tbs_certificate.issuer.clone(),
            serial_number: signer.tbs_certificate.serial_number.clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm(alg)?,
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let econtent = match econtent {
        Some((bytes, _)) => Some(Any::encode_from(&OctetString::new(bytes)?)?),
        None => None,
    };
    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 when the content is not id-data.
        version: match content_type == rfc5911::ID_DATA {
            true => CmsVersion::V1,
            false => CmsVersion::V3,
        },
        digest_algorithms: SetOfVec::try_from(vec![digest_alg])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: content_type,
            econtent,
        },
        certificates: match embed_chain {
            true => Some(CertificateSet(SetOfVec::try_from(
                certs
                    .into_iter()
                    .map(CertificateChoices::Certificate)
                    .collect::<Vec<_>>(),
            )?)),
            false => None,
        },
        crls: None,
        signer_infos: SignerInfos(SetOfVec::try_from(vec![signer_info])?),
    };
    let content = ContentInfo {
        content_type: rfc5911::ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data)?,
    };
    Ok(content.to_der()?)
}
