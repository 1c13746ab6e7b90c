//! CMS SignedData (RFC 5652) as found in PDF /Contents and RFC 3161 tokens, read with the
//! BER-tolerant reader so that signed attributes can be checked over their original bytes.

use thiserror::Error;

use crate::asn1::{self, Asn1Error, Tlv, tag};
use crate::crypto::AlgId;

/// OIDs used by the CMS layer.
pub mod oid {
    /// id-signedData
    pub const SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
    /// id-data
    pub const DATA: &str = "1.2.840.113549.1.7.1";
    /// id-ct-TSTInfo
    pub const TST_INFO: &str = "1.2.840.113549.1.9.16.1.4";
    /// contentType attribute
    pub const CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
    /// messageDigest attribute
    pub const MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
    /// signingTime attribute
    pub const SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
    /// signing-certificate (v1) attribute
    pub const SIGNING_CERTIFICATE: &str = "1.2.840.113549.1.9.16.2.12";
    /// signing-certificate-v2 attribute
    pub const SIGNING_CERTIFICATE_V2: &str = "1.2.840.113549.1.9.16.2.47";
    /// id-ri-ocsp-response (OtherRevocationInfoFormat holding an OCSPResponse)
    pub const OCSP_RESPONSE: &str = "1.3.6.1.5.5.7.16.2";
    /// signature time-stamp token (unsigned attribute)
    pub const SIGNATURE_TIMESTAMP: &str = "1.2.840.113549.1.9.16.2.14";
}

/// Errors decoding CMS.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CmsError {
    /// The bytes are not valid BER/DER.
    #[error("bad encoding: {0}")]
    Encoding(#[from] Asn1Error),
    /// The structure is not a SignedData as expected.
    #[error("not a CMS SignedData: {0}")]
    Structure(&'static str),
}

/// How a SignerInfo names its certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignerId<'a> {
    /// issuerAndSerialNumber: raw issuer Name and serial INTEGER content.
    IssuerSerial {
        /// DER of the issuer Name.
        issuer: &'a [u8],
        /// Serial number content octets.
        serial: &'a [u8],
    },
    /// subjectKeyIdentifier.
    SubjectKeyId(Vec<u8>),
}

/// One attribute: type and the values' elements.
#[derive(Debug, Clone)]
pub struct Attribute<'a> {
    /// Attribute type OID.
    pub oid: String,
    /// The AttributeValue elements.
    pub values: Vec<Tlv<'a>>,
}

/// A SignerInfo.
#[derive(Debug, Clone)]
pub struct SignerInfo<'a> {
    /// Certificate identification.
    pub sid: SignerId<'a>,
    /// digestAlgorithm.
    pub digest_alg: AlgId,
    /// Signed attributes as encoded ([0] IMPLICIT), if present.
    pub signed_attrs_raw: Option<&'a [u8]>,
    /// Decoded signed attributes.
    pub signed_attrs: Vec<Attribute<'a>>,
    /// signatureAlgorithm.
    pub sig_alg: AlgId,
    /// The signature value.
    pub signature: Vec<u8>,
    /// Unsigned attributes.
    pub unsigned_attrs: Vec<Attribute<'a>>,
}

impl<'a> SignerInfo<'a> {
    /// The bytes the signature covers when signed attributes are present: the original
    /// encoding with its implicit tag replaced by SET (0x31).
    pub fn signed_attrs_for_signature(&self) -> Option<Vec<u8>> {
        let raw = self.signed_attrs_raw?;
        let mut v = raw.to_vec();
        if let Some(first) = v.first_mut() {
            *first = 0x31;
        }
        Some(v)
    }

    /// Every value of the signed attribute `oid`.
    pub fn signed_attr(&self, oid: &str) -> Vec<&Tlv<'a>> {
        self.signed_attrs
            .iter()
            .filter(|a| a.oid == oid)
            .flat_map(|a| a.values.iter())
            .collect()
    }

    /// Number of signed attributes of type `oid` (CMS allows exactly one of several).
    pub fn signed_attr_count(&self, oid: &str) -> usize {
        self.signed_attrs.iter().filter(|a| a.oid == oid).count()
    }
}

/// A decoded SignedData.
#[derive(Debug, Clone)]
pub struct SignedData<'a> {
    /// encapContentInfo eContentType.
    pub econtent_type: String,
    /// The encapsulated content, when not detached.
    pub econtent: Option<Vec<u8>>,
    /// Raw DER of each embedded X.509 certificate.
    pub certificates: Vec<&'a [u8]>,
    /// Raw DER of each embedded CRL.
    pub crls: Vec<&'a [u8]>,
    /// Raw DER of each OCSPResponse in `crls` as OtherRevocationInfoFormat (id-ri-ocsp-response).
    pub ocsp_responses: Vec<&'a [u8]>,
    /// The signer infos.
    pub signer_infos: Vec<SignerInfo<'a>>,
}

/// Decodes a ContentInfo holding SignedData from the start of `input` (trailing bytes, such as
/// the zero padding of /Contents, are ignored). Returns it and the number of bytes used.
pub fn parse_signed_data(input: &[u8]) -> Result<(SignedData<'_>, usize), CmsError> {
    let (ci, rest) = asn1::parse(input)?;
    let used = input.len() - rest.len();
    // Most of a CMS object is not signed (only the signed attributes are): every part of it
    // must be well formed, also the parts this reader does not interpret.
    asn1::check_tree(&ci)?;
    let parts = ci.seq()?;
    let ct = parts
        .first()
        .ok_or(CmsError::Structure("empty ContentInfo"))?
        .oid()?;
    if ct != oid::SIGNED_DATA {
        return Err(CmsError::Structure("content type is not signedData"));
    }
    let wrapper = parts
        .get(1)
        .filter(|t| t.is_context(0))
        .ok_or(CmsError::Structure("missing [0] content"))?;
    let sd = wrapper
        .children()?
        .into_iter()
        .next()
        .ok_or(CmsError::Structure("empty [0] content"))?;
    let fields = sd.seq()?;
    let mut it = fields.iter().peekable();
    let _version = it
        .next()
        .filter(|t| t.is(tag::INTEGER) && matches!(t.value, [1] | [3] | [4] | [5]))
        .ok_or(CmsError::Structure("version (must be 1, 3, 4 or 5)"))?;
    let digest_algs = it
        .next()
        .filter(|t| t.is(tag::SET))
        .ok_or(CmsError::Structure("digestAlgorithms"))?;
    for a in digest_algs.children()? {
        AlgId::from_tlv(&a)?;
    }
    let encap = it
        .next()
        .ok_or(CmsError::Structure("encapContentInfo"))?
        .seq()?;
    let econtent_type = encap
        .first()
        .ok_or(CmsError::Structure("eContentType"))?
        .oid()?;
    let econtent = match encap.get(1) {
        Some(t) if t.is_context(0) => {
            let inner = t.children()?;
            match inner.first() {
                Some(o) if o.is(tag::OCTET_STRING) => Some(o.octets()?),
                _ => return Err(CmsError::Structure("eContent is not an OCTET STRING")),
            }
        }
        Some(_) => return Err(CmsError::Structure("bad eContent tag")),
        None => None,
    };
    let mut certificates = Vec::new();
    let mut crls = Vec::new();
    let mut ocsp_responses = Vec::new();
    if let Some(t) = it.peek().filter(|t| t.is_context(0)) {
        for c in t.children()? {
            // Only plain certificates (SEQUENCE); attribute certificates etc. are skipped.
            if c.is(tag::SEQUENCE) {
                certificates.push(c.raw);
            }
        }
        it.next();
    }
    if let Some(t) = it.peek().filter(|t| t.is_context(1)) {
        for c in t.children()? {
            if c.is(tag::SEQUENCE) {
                crls.push(c.raw);
            } else if c.is_context(1)
                && let Ok(other) = c.children()
                && let (Some(format), Some(info)) = (other.first(), other.get(1))
                && format.oid().ok().as_deref() == Some(oid::OCSP_RESPONSE)
            {
                // other [1] IMPLICIT OtherRevocationInfoFormat { format, info }
                ocsp_responses.push(info.raw);
            }
        }
        it.next();
    }
    let sis = it
        .next()
        .filter(|t| t.is(tag::SET))
        .ok_or(CmsError::Structure("signerInfos"))?;
    let mut signer_infos = Vec::new();
    for si in sis.children()? {
        signer_infos.push(parse_signer_info(&si)?);
    }
    Ok((
        SignedData {
            econtent_type,
            econtent,
            certificates,
            crls,
            ocsp_responses,
            signer_infos,
        },
        used,
    ))
}

fn parse_signer_info<'a>(si: &Tlv<'a>) -> Result<SignerInfo<'a>, CmsError> {
    let f = si.seq()?;
    let mut it = f.iter().peekable();
    let _version = it
        .next()
        .filter(|t| t.is(tag::INTEGER))
        .ok_or(CmsError::Structure("SignerInfo version"))?;
    let sid_t = it.next().ok_or(CmsError::Structure("sid"))?;
    let sid = if sid_t.is(tag::SEQUENCE) {
        let p = sid_t.children()?;
        match (p.first(), p.get(1)) {
            (Some(issuer), Some(serial)) if serial.is(tag::INTEGER) => SignerId::IssuerSerial {
                issuer: issuer.raw,
                serial: serial.value,
            },
            _ => return Err(CmsError::Structure("issuerAndSerialNumber")),
        }
    } else if sid_t.is_context(0) {
        SignerId::SubjectKeyId(sid_t.octets()?)
    } else {
        return Err(CmsError::Structure("sid"));
    };
    let digest_alg = AlgId::from_tlv(it.next().ok_or(CmsError::Structure("digestAlgorithm"))?)?;
    let mut signed_attrs_raw = None;
    let mut signed_attrs = Vec::new();
    if let Some(t) = it.peek().filter(|t| t.is_context(0)) {
        signed_attrs_raw = Some(t.raw);
        signed_attrs = parse_attributes(t)?;
        it.next();
    }
    let sig_alg = AlgId::from_tlv(it.next().ok_or(CmsError::Structure("signatureAlgorithm"))?)?;
    let sig_t = it
        .next()
        .filter(|t| t.is(tag::OCTET_STRING))
        .ok_or(CmsError::Structure("signature"))?;
    let signature = sig_t.octets()?;
    let mut unsigned_attrs = Vec::new();
    if let Some(t) = it.peek().filter(|t| t.is_context(1)) {
        unsigned_attrs = parse_attributes(t)?;
    }
    Ok(SignerInfo {
        sid,
        digest_alg,
        signed_attrs_raw,
        signed_attrs,
        sig_alg,
        signature,
        unsigned_attrs,
    })
}

fn parse_attributes<'a>(t: &Tlv<'a>) -> Result<Vec<Attribute<'a>>, CmsError> {
    let mut out = Vec::new();
    for a in t.children()? {
        let p = a.seq()?;
        let oid = p
            .first()
            .ok_or(CmsError::Structure("attribute type"))?
            .oid()?;
        let values = match p.get(1) {
            Some(v) if v.is(tag::SET) => v.children()?,
            _ => return Err(CmsError::Structure("attribute values")),
        };
        out.push(Attribute { oid, values });
    }
    Ok(out)
}

/// ESSCertIDv2 / ESSCertID from a signing-certificate(-v2) attribute value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EssCertId {
    /// Hash algorithm OID (SHA-1 for v1, default SHA-256 for v2).
    pub hash_oid: String,
    /// Hash of the whole certificate.
    pub hash: Vec<u8>,
    /// issuerSerial's serial number content, if present.
    pub serial: Option<Vec<u8>>,
}

/// Reads the first certificate identifier of a signing-certificate(-v2) attribute value.
pub fn parse_ess_cert_id(value: &Tlv<'_>, v2: bool) -> Result<EssCertId, CmsError> {
    let sc = value.seq()?;
    let certs = sc
        .first()
        .ok_or(CmsError::Structure("SigningCertificate.certs"))?
        .seq()?;
    let first = certs
        .first()
        .ok_or(CmsError::Structure("no ESSCertID"))?
        .seq()?;
    let mut i = 0;
    let mut hash_oid = if v2 {
        "2.16.840.1.101.3.4.2.1".to_string()
    } else {
        "1.3.14.3.2.26".to_string()
    };
    if v2 && let Some(a) = first.first().filter(|t| t.is(tag::SEQUENCE)) {
        hash_oid = AlgId::from_tlv(a)?.oid;
        i = 1;
    }
    let hash = first
        .get(i)
        .filter(|t| t.is(tag::OCTET_STRING))
        .ok_or(CmsError::Structure("certHash"))?
        .octets()?;
    let serial = match first.get(i + 1) {
        Some(is) if is.is(tag::SEQUENCE) => is
            .children()?
            .get(1)
            .filter(|t| t.is(tag::INTEGER))
            .map(|t| t.value.to_vec()),
        _ => None,
    };
    Ok(EssCertId {
        hash_oid,
        hash,
        serial,
    })
}
