//! Finding things on a token: the slot by token label, the user login, the private key by
//! label and/or id, and the public half of that key (public attributes only).

use std::path::Path;

use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;

use super::encoding;
use super::module::{ck, rv_name};
use crate::pki::key::{KeyAlgorithm, KeyError};

/// The key's type as far as signing goes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Shape {
    /// RSA with a modulus of `modulus_len` bytes.
    Rsa {
        /// Modulus length in bytes.
        modulus_len: usize,
    },
    /// EC on a curve whose coordinates are `coordinate_len` bytes.
    Ec {
        /// Coordinate length in bytes (32 for P-256, 48 for P-384).
        coordinate_len: usize,
        /// The ECDSA algorithm of the curve.
        curve: KeyAlgorithm,
    },
}

fn call(e: CkError) -> KeyError {
    KeyError::Pkcs11(ck(&e))
}

/// The slot whose token is labelled `label`.
pub(super) fn find_slot(ctx: &Pkcs11, module: &Path, label: &str) -> Result<Slot, KeyError> {
    let mut labels = Vec::new();
    let mut matching = Vec::new();
    for slot in ctx.get_slots_with_token().map_err(call)? {
        let info = ctx.get_token_info(slot).map_err(call)?;
        if info.label() == label {
            matching.push(slot);
        }
        labels.push(format!("{:?}", info.label()));
    }
    match matching.as_slice() {
        [slot] => Ok(*slot),
        [] => Err(KeyError::Pkcs11NotFound(format!(
            "no token labelled {label:?} in {} (tokens: {})",
            module.display(),
            if labels.is_empty() {
                "none".to_string()
            } else {
                labels.join(", ")
            }
        ))),
        more => Err(KeyError::Pkcs11NotFound(format!(
            "{} tokens are labelled {label:?} in {}; saoy needs one",
            more.len(),
            module.display()
        ))),
    }
}

/// Logs `session` in as the user unless the application is logged in to the token already
/// (login is per application and token, not per session); a racing login's
/// `CKR_USER_ALREADY_LOGGED_IN` counts as success.
pub(super) fn login(session: &Session, pin: &AuthPin, token: &str) -> Result<(), KeyError> {
    let state = session.get_session_info().map_err(call)?.session_state();
    if matches!(state, SessionState::RoUser | SessionState::RwUser) {
        return Ok(());
    }
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(rv, _)) => Err(KeyError::Pkcs11Login {
            token: token.to_string(),
            reason: rv_name(&rv),
        }),
        Err(e) => Err(KeyError::Pkcs11Login {
            token: token.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The one private key with `label` and/or `id` on the token `token` of `session`.
pub(super) fn find_private_key(
    session: &Session,
    label: Option<&str>,
    id: Option<&[u8]>,
    token: &str,
) -> Result<ObjectHandle, KeyError> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    let mut what = Vec::new();
    if let Some(label) = label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
        what.push(format!("label {label:?}"));
    }
    if let Some(id) = id {
        template.push(Attribute::Id(id.to_vec()));
        what.push(format!("id {}", hex::encode(id)));
    }
    let what = what.join(" and ");
    let found = session.find_objects(&template).map_err(call)?;
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(KeyError::Pkcs11NotFound(format!(
            "no private key with {what} on token {token:?}"
        ))),
        more => Err(KeyError::Pkcs11NotFound(format!(
            "{} private keys with {what} on token {token:?}; name one (key_id)",
            more.len()
        ))),
    }
}

/// The public half of a private key, as read from the token.
pub(super) struct PublicHalf {
    /// RSA or EC, and its sizes.
    pub(super) shape: Shape,
    /// The public key as a certificate's subjectPublicKey holds it.
    pub(super) public_key: Vec<u8>,
    /// The token would let the key be exported (CKA_EXTRACTABLE, or not CKA_SENSITIVE).
    pub(super) extractable: bool,
}

/// Reads the key's public attributes: RSA modulus and exponent from the private key object
/// (or its public-key object), EC curve and point (CKA_EC_POINT lives on the public-key
/// object with the same CKA_ID, or label). Secret attributes are never asked for.
pub(super) fn read_public_half(
    session: &Session,
    key: ObjectHandle,
) -> Result<PublicHalf, KeyError> {
    use AttributeType as T;
    let wanted = [
        T::KeyType,
        T::Sign,
        T::Sensitive,
        T::Extractable,
        T::Id,
        T::Label,
        T::Modulus,
        T::PublicExponent,
        T::EcParams,
        T::EcPoint,
    ];
    let mut a = Attrs::from(session.get_attributes(key, &wanted).map_err(call)?);
    if a.sign == Some(false) {
        return Err(KeyError::Pkcs11Unsupported(
            "the private key may not sign (CKA_SIGN is false)".into(),
        ));
    }
    let extractable = a.extractable != Some(false) || a.sensitive != Some(true);
    let needs_public = match a.key_type {
        Some(KeyType::RSA) => a.modulus.is_none() || a.exponent.is_none(),
        Some(KeyType::EC) => a.ec_point.is_none() || a.ec_params.is_none(),
        _ => false,
    };
    if needs_public && let Some(public) = find_public_key(session, &a)? {
        let public_attrs = [T::Modulus, T::PublicExponent, T::EcParams, T::EcPoint];
        let more = session
            .get_attributes(public, &public_attrs)
            .map_err(call)?;
        a.fill_from(Attrs::from(more));
    }
    match a.key_type {
        Some(KeyType::RSA) => rsa_half(&a, extractable),
        Some(KeyType::EC) => ec_half(&a, extractable),
        other => Err(KeyError::Pkcs11Unsupported(format!(
            "key type {}: saoy signs with RSA or EC keys",
            other.map_or("unknown".to_string(), |t| t.to_string())
        ))),
    }
}

fn rsa_half(a: &Attrs, extractable: bool) -> Result<PublicHalf, KeyError> {
    let (Some(n), Some(e)) = (&a.modulus, &a.exponent) else {
        return Err(KeyError::Pkcs11Unsupported(
            "the RSA key shows no CKA_MODULUS / CKA_PUBLIC_EXPONENT, nor does a public-key \
             object with its id or label"
                .into(),
        ));
    };
    let bits = encoding::bit_len(n);
    if !(2048..=8192).contains(&bits) {
        return Err(KeyError::Pkcs11Unsupported(format!(
            "RSA key of {bits} bits: saoy signs with 2048 to 8192"
        )));
    }
    Ok(PublicHalf {
        shape: Shape::Rsa {
            modulus_len: bits.div_ceil(8),
        },
        public_key: encoding::rsa_public_key(n, e)?,
        extractable,
    })
}

fn ec_half(a: &Attrs, extractable: bool) -> Result<PublicHalf, KeyError> {
    let params = a
        .ec_params
        .as_deref()
        .ok_or_else(|| KeyError::Pkcs11Unsupported("the EC key shows no CKA_EC_PARAMS".into()))?;
    let (curve, coordinate_len) = encoding::curve(params)?;
    let point = a.ec_point.as_deref().ok_or_else(|| {
        KeyError::Pkcs11Unsupported(
            "no public-key object with the EC key's id or label holds its CKA_EC_POINT; \
             import the public key too"
                .into(),
        )
    })?;
    Ok(PublicHalf {
        shape: Shape::Ec {
            coordinate_len,
            curve,
        },
        public_key: encoding::ec_point(point, coordinate_len)?,
        extractable,
    })
}

/// The public-key object that goes with a private key: same CKA_ID if it has one, else the
/// same label.
fn find_public_key(session: &Session, a: &Attrs) -> Result<Option<ObjectHandle>, KeyError> {
    let mut template = vec![Attribute::Class(ObjectClass::PUBLIC_KEY)];
    match (&a.id, &a.label) {
        (Some(id), _) if !id.is_empty() => template.push(Attribute::Id(id.clone())),
        (_, Some(label)) if !label.is_empty() => template.push(Attribute::Label(label.clone())),
        _ => return Ok(None),
    }
    let found = session.find_objects(&template).map_err(call)?;
    Ok(found.first().copied())
}

/// The attributes [`read_public_half`] reads, by name.
#[derive(Default)]
struct Attrs {
    key_type: Option<KeyType>,
    sign: Option<bool>,
    sensitive: Option<bool>,
    extractable: Option<bool>,
    id: Option<Vec<u8>>,
    label: Option<Vec<u8>>,
    modulus: Option<Vec<u8>>,
    exponent: Option<Vec<u8>>,
    ec_params: Option<Vec<u8>>,
    ec_point: Option<Vec<u8>>,
}

impl From<Vec<Attribute>> for Attrs {
    fn from(list: Vec<Attribute>) -> Self {
        let mut a = Attrs::default();
        for attr in list {
            match attr {
                Attribute::KeyType(t) => a.key_type = Some(t),
                Attribute::Sign(b) => a.sign = Some(b),
                Attribute::Sensitive(b) => a.sensitive = Some(b),
                Attribute::Extractable(b) => a.extractable = Some(b),
                Attribute::Id(v) => a.id = Some(v),
                Attribute::Label(v) => a.label = Some(v),
                Attribute::Modulus(v) if !v.is_empty() => a.modulus = Some(v),
                Attribute::PublicExponent(v) if !v.is_empty() => a.exponent = Some(v),
                Attribute::EcParams(v) if !v.is_empty() => a.ec_params = Some(v),
                Attribute::EcPoint(v) if !v.is_empty() => a.ec_point = Some(v),
                _ => {}
            }
        }
        a
    }
}

impl Attrs {
    fn fill_from(&mut self, other: Attrs) {
        self.modulus = self.modulus.take().or(other.modulus);
        self.exponent = self.exponent.take().or(other.exponent);
        self.ec_params = self.ec_params.take().or(other.ec_params);
        self.ec_point = self.ec_point.take().or(other.ec_point);
    }
}
