//! Placeholder of the PKCS#11 backend (replaced by the real one on merge).

use std::path::PathBuf;

use serde::Deserialize;

/// A key on a PKCS#11 token.
#[derive(Clone, Debug, Deserialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Pkcs11Spec {
    /// Module path.
    pub module: PathBuf,
    /// Token label.
    pub token_label: String,
    /// Key label.
    pub key_label: Option<String>,
    /// Key id, hex.
    pub key_id: Option<String>,
    /// PIN file.
    pub pin_file: Option<PathBuf>,
    /// PIN variable.
    pub pin_env: Option<String>,
}

/// A credential on the token (placeholder).
pub fn credential(
    _spec: &Pkcs11Spec,
    _chain: Vec<Vec<u8>>,
) -> Result<super::key::Credential, super::key::KeyError> {
    Err(super::key::KeyError::SignFailed)
}

impl Pkcs11Spec {
    /// Placeholder.
    pub fn from_uri(_uri: &str) -> Result<Self, super::key::KeyError> {
        Err(super::key::KeyError::SignFailed)
    }
}

/// Placeholder.
pub fn open(_spec: &Pkcs11Spec) -> Result<std::sync::Arc<dyn super::key::SigningKey>, super::key::KeyError> {
    Err(super::key::KeyError::SignFailed)
}
