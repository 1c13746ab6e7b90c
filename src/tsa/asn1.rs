//! The RFC 3161 structures both sides need: TimeStampReq, TimeStampResp, TSTInfo.
//! Encoding uses the `der` derive; TSTInfo is read field by field, so that optional
//! fields in any well-formed order and fractional genTimes do not stop the client.

use const_oid::ObjectIdentifier;
use der::asn1::{Any, GeneralizedTime, OctetString, Uint};
use der::{Decode, Encode, Reader, Sequence, SliceReader, Tag, TagNumber, Tagged};
use spki::AlgorithmIdentifierOwned;

/// `id-ct-TSTInfo` (RFC 3161 §2.4.2).
pub const OID_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

/// MessageImprint ::= SEQUENCE { hashAlgorithm, hashedMessage }.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct MessageImprint {
    /// The hash algorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// The hash of the time-stamped data.
    pub hashed_message: OctetString,
}

fn no() -> bool {
    false
}

/// TimeStampReq (RFC 3161 §2.4.1); extensions are not sent and, received, refused.
#[derive(Clone, Debug, Sequence)]
pub struct TimeStampReq {
    /// v1 (1).
    pub version: u8,
    /// What is time-stamped.
    pub message_imprint: MessageImprint,
    /// The policy asked for, if any.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// The nonce, if any.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
    /// The TSA certificate is asked for in the token.
    #[asn1(default = "no")]
    pub cert_req: bool,
}

/// TimeStampResp as sent: the token kept as raw DER (a ContentInfo).
#[derive(Clone, Debug, Sequence)]
pub struct TimeStampRespOut {
    /// The status.
    pub status: PkiStatusInfoOut,
    /// The token.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<Any>,
}

/// PKIStatusInfo as sent by saoy's test TSA.
#[derive(Clone, Debug, Sequence)]
pub struct PkiStatusInfoOut {
    /// 0 granted, 2 rejection.
    pub status: u8,
    /// Why (on a rejection).
    #[asn1(optional = "true")]
    pub status_string: Option<Vec<String>>,
}

/// A received TimeStampResp: the status, its text and failInfo bits, and the token's DER.
#[derive(Clone, Debug)]
pub struct TimeStampResp {
    /// PKIStatus: 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4/5 revocation.
    pub status: u32,
    /// statusString, joined.
    pub text: String,
    /// The timeStampToken's DER (a ContentInfo), when present.
    pub token: Option<Vec<u8>>,
}

impl TimeStampResp {
    /// Reads a DER TimeStampResp (RFC 3161 §2.4.2); nothing may follow it.
    pub fn from_der(der: &[u8]) -> der::Result<Self> {
        let outer = Any::from_der(der)?;
        if outer.tag() != Tag::Sequence {
            return Err(Tag::Sequence.value_error());
        }
        let mut r = SliceReader::new(outer.value())?;
        let status_info = Any::decode(&mut r)?;
        if status_info.tag() != Tag::Sequence {
            return Err(Tag::Sequence.value_error());
        }
        let mut s = SliceReader::new(status_info.value())?;
        let status = u32::decode(&mut s)?;
        let mut text = String::new();
        while !s.is_finished() {
            let field = Any::decode(&mut s)?;
            if field.tag() == Tag::Sequence {
                let mut t = SliceReader::new(field.value())?;
                while !t.is_finished() {
                    let line = der::asn1::Utf8StringRef::decode(&mut t)?;
                    text.push_str(line.as_str());
                    text.push(' ');
                }
            }
        }
        let token = match r.is_finished() {
            true => None,
            false => Some(Any::decode(&mut r)?.to_der()?),
        };
        r.finish(())?;
        Ok(TimeStampResp {
            status,
            text: text.trim_end().to_string(),
            token,
        })
    }
}

/// Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0], micros [1] }.
#[derive(Clone, Debug, Sequence)]
pub struct Accuracy {
    /// Seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// Milliseconds (1..999).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// Microseconds (1..999).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

/// TSTInfo as saoy's test TSA writes it (no tsa name, no extensions).
#[derive(Clone, Debug, Sequence)]
pub struct TstInfoOut {
    /// v1 (1).
    pub version: u8,
    /// The TSA's policy.
    pub policy: ObjectIdentifier,
    /// Copied from the request.
    pub message_imprint: MessageImprint,
    /// Unique per token.
    pub serial_number: Uint,
    /// The time, whole seconds, UTC.
    pub gen_time: GeneralizedTime,
    /// How far genTime may be off.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// ordering (always false).
    #[asn1(default = "no")]
    pub ordering: bool,
    /// Copied from the request.
    #[asn1(optional = "true")]
    pub nonce: Option<Uint>,
}

/// The fields of a received TSTInfo the client checks.
#[derive(Clone, Debug)]
pub struct TstInfo {
    /// version (must be 1).
    pub version: u8,
    /// The TSA's policy.
    pub policy: ObjectIdentifier,
    /// What was time-stamped.
    pub message_imprint: MessageImprint,
    /// The nonce, if any.
    pub nonce: Option<Vec<u8>>,
}

impl TstInfo {
    /// Reads a DER TSTInfo: the mandatory fields in order, then the optional ones
    /// (accuracy, ordering, nonce, tsa, extensions) by their tags.
    pub fn from_der(der: &[u8]) -> der::Result<Self> {
        let outer = Any::from_der(der)?;
        if outer.tag() != Tag::Sequence {
            return Err(Tag::Sequence.value_error());
        }
        let mut r = SliceReader::new(outer.value())?;
        let version = u8::decode(&mut r)?;
        let policy = ObjectIdentifier::decode(&mut r)?;
        let message_imprint = MessageImprint::decode(&mut r)?;
        let _serial = der::asn1::Int::decode(&mut r)?;
        let gen_time = Any::decode(&mut r)?;
        if gen_time.tag() != Tag::GeneralizedTime {
            return Err(Tag::GeneralizedTime.value_error());
        }
        let mut nonce = None;
        while !r.is_finished() {
            let field = Any::decode(&mut r)?;
            match field.tag() {
                Tag::Integer => nonce = Some(strip_zeros(field.value()).to_vec()),
                Tag::Sequence | Tag::Boolean => {}
                Tag::ContextSpecific { number, .. }
                    if number == TagNumber::N0 || number == TagNumber::N1 => {}
                other => return Err(other.value_error()),
            }
        }
        Ok(TstInfo {
            version,
            policy,
            message_imprint,
            nonce,
        })
    }
}

/// An unsigned big-endian integer's bytes without leading zeros.
pub fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// DER of a request for `imprint` with `nonce`, asking for the TSA certificate.
pub fn request_der(imprint: MessageImprint, nonce: &[u8]) -> der::Result<Vec<u8>> {
    TimeStampReq {
        version: 1,
        message_imprint: imprint,
        req_policy: None,
        nonce: Some(Uint::new(nonce)?),
        cert_req: true,
    }
    .to_der()
}
