//! The citizen assertion: which citizen the portal acts for, per call.
//!
//! A compact JWS (ES256, header `{"alg":"ES256","typ":"JWT"}`) in the `x-saoy-citizen`
//! metadata, claims `sub` (the citizen's 12-digit personal ID), `iss` (the subject CN of the
//! portal's certificate), `iat`, `exp` (at most [`MAX_ASSERTION_LIFETIME_SECS`] after
//! `iat`) and `jti`, signed with the key of the portal's client certificate. It is checked
//! against the certificate of the connection it arrives on, so it is worth nothing on any
//! other client's connection. Times are judged against the caller's clock, not the crate's.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use x509_parser::prelude::*;

use crate::error_kind::ErrorKind;

/// Longest lifetime of an assertion (`exp - iat`), seconds.
pub const MAX_ASSERTION_LIFETIME_SECS: i64 = 600;

/// Clock skew tolerated between the portal and saoy, seconds.
const LEEWAY_SECS: i64 = 30;

/// The claims of a citizen assertion.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CitizenClaims {
    /// The citizen's 12-digit personal identification number.
    pub sub: String,
    /// Subject CN of the portal's certificate.
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expires at (Unix seconds).
    pub exp: i64,
    /// Unique id of this assertion.
    pub jti: String,
}

/// Why an assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    /// Not a compact JWS, wrong header, bad signature or missing claims.
    #[error("the citizen assertion (x-saoy-citizen) is not valid: {0}")]
    Invalid(String),
    /// `exp` is past, `iat` in the future, or the lifetime longer than allowed.
    #[error("the citizen assertion (x-saoy-citizen) is expired or not yet valid: {0}")]
    Expired(String),
    /// `iss` is not the CN of the connection's certificate.
    #[error(
        "the citizen assertion was issued by {claimed:?}, not by this connection's portal {actual:?}"
    )]
    WrongIssuer {
        /// What the assertion says.
        claimed: String,
        /// The CN of the client certificate.
        actual: String,
    },
    /// `sub` is not a 12-digit ID.
    #[error("the citizen assertion's subject must be a 12-digit personal identification number")]
    BadSubject,
    /// The portal's key cannot sign or verify ES256 (not a P-256 key).
    #[error("the portal key is not an ECDSA P-256 key: {0}")]
    Key(String),
}

impl AssertionError {
    /// A refused assertion means the citizen is not identified.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AssertionError::Key(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Unauthenticated,
        }
    }
}

fn provider() {
    // Installing twice is refused and harmless: the first provider stays.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

/// The verifying key of a P-256 certificate (DER).
fn decoding_key(cert_der: &[u8]) -> Result<DecodingKey, AssertionError> {
    let (_, cert) =
        X509Certificate::from_der(cert_der).map_err(|e| AssertionError::Key(e.to_string()))?;
    let point = cert.public_key().subject_public_key.data.as_ref();
    // An uncompressed P-256 point: 0x04, then x and y of 32 bytes each.
    let (Some(0x04), 65) = (point.first().copied(), point.len()) else {
        return Err(AssertionError::Key(
            "the certificate's key is not an uncompressed P-256 point".into(),
        ));
    };
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    DecodingKey::from_ec_components(&b64.encode(&point[1..33]), &b64.encode(&point[33..]))
        .map_err(|e| AssertionError::Key(e.to_string()))
}

/// Checks `token` against the portal certificate of the connection (`cert_der`, whose CN
/// is `portal_cn`) at `now` (Unix seconds); returns its claims.
pub fn verify(
    token: &str,
    cert_der: &[u8],
    portal_cn: &str,
    now: i64,
) -> Result<CitizenClaims, AssertionError> {
    provider();
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| AssertionError::Invalid(e.to_string()))?;
    if header.alg != Algorithm::ES256 || header.typ.as_deref() != Some("JWT") {
        return Err(AssertionError::Invalid(
            "the header must be {\"alg\":\"ES256\",\"typ\":\"JWT\"}".into(),
        ));
    }
    let mut validation = Validation::new(Algorithm::ES256);
    // Times are checked below against saoy's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims = ["sub", "iss", "exp"]
        .into_iter()
        .map(String::from)
        .collect();
    let key = decoding_key(cert_der)?;
    let claims = jsonwebtoken::decode::<CitizenClaims>(token, &key, &validation)
        .map_err(|e| AssertionError::Invalid(e.to_string()))?
        .claims;
    if claims.iss != portal_cn {
        return Err(AssertionError::WrongIssuer {
            claimed: claims.iss,
            actual: portal_cn.to_string(),
        });
    }
    if claims.sub.len() != 12 || !claims.sub.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AssertionError::BadSubject);
    }
    if claims.jti.trim().is_empty() {
        return Err(AssertionError::Invalid("the jti claim is empty".into()));
    }
    if claims.exp - claims.iat > MAX_ASSERTION_LIFETIME_SECS {
        return Err(AssertionError::Expired(format!(
            "it lives {} s; at most {MAX_ASSERTION_LIFETIME_SECS} s are allowed",
            claims.exp - claims.iat
        )));
    }
    if now > claims.exp + LEEWAY_SECS {
        return Err(AssertionError::Expired(format!(
            "it expired {} s ago",
            now - claims.exp
        )));
    }
    if claims.iat > now + LEEWAY_SECS {
        return Err(AssertionError::Expired(
            "it was issued in the future".into(),
        ));
    }
    Ok(claims)
}

/// Mints an assertion for `owner` from the portal `issuer_cn` with its PKCS#8 PEM P-256
/// key, issued at `now`, living `ttl_secs` (negative: already expired, for tests).
pub fn mint(
    owner: &str,
    issuer_cn: &str,
    key_pem: &[u8],
    now: i64,
    ttl_secs: i64,
) -> Result<String, AssertionError> {
    provider();
    let key = EncodingKey::from_ec_pem(key_pem).map_err(|e| AssertionError::Key(e.to_string()))?;
    let (iat, exp) = if ttl_secs < 0 {
        (now + 2 * ttl_secs, now + ttl_secs)
    } else {
        (now, now + ttl_secs)
    };
    let claims = CitizenClaims {
        sub: owner.to_string(),
        iss: issuer_cn.to_string(),
        iat,
        exp,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("JWT".into());
    jsonwebtoken::encode(&header, &claims, &key).map_err(|e| AssertionError::Key(e.to_string()))
}
