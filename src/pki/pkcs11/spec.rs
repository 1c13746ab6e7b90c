//! What names a key on a PKCS#11 token: [`Pkcs11Spec`] (a TOML config table), its RFC 7512
//! `pkcs11:` URI form (what the command line takes), and how the PIN is read.

use std::path::{Path, PathBuf};

use cryptoki::types::AuthPin;
use serde::Deserialize;

use crate::pki::key::KeyError;

/// Sessions a key keeps open at most when the spec does not say (`max_sessions`).
pub const DEFAULT_MAX_SESSIONS: usize = 4;

/// The largest `max_sessions` accepted (tokens limit sessions; more would only queue there).
pub const MAX_SESSIONS_LIMIT: usize = 256;

/// The signature mechanism a token key signs with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pkcs11Mechanism {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (`CKM_SHA256_RSA_PKCS`); the default for RSA keys.
    RsaPkcs1,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256 and a 32-byte salt (`CKM_RSA_PKCS_PSS` over the
    /// SHA-256 digest saoy computes: p11-kit's RPC carries that one, not the hashing variant).
    RsaPss,
    /// ECDSA (`CKM_ECDSA` over the digest saoy computes): SHA-256 on P-256, SHA-384 on P-384.
    /// The default, and the only choice, for EC keys.
    Ecdsa,
}

impl Pkcs11Mechanism {
    /// The name used in the config and in the `x-mechanism` URI attribute.
    pub fn name(self) -> &'static str {
        match self {
            Pkcs11Mechanism::RsaPkcs1 => "rsa-pkcs1",
            Pkcs11Mechanism::RsaPss => "rsa-pss",
            Pkcs11Mechanism::Ecdsa => "ecdsa",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        [Self::RsaPkcs1, Self::RsaPss, Self::Ecdsa]
            .into_iter()
            .find(|m| m.name() == name)
    }
}

fn default_max_sessions() -> usize {
    DEFAULT_MAX_SESSIONS
}

/// Where a signing key lives on a PKCS#11 token and how to log in to it. The PIN itself is
/// never part of the spec (only where to read it), so `Debug` output cannot show it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pkcs11Spec {
    /// Path of the PKCS#11 module (shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`
    /// or p11-kit's RPC client `/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so`.
    pub module: PathBuf,
    /// Label of the token that holds the key (as `pkcs11-tool --list-slots` shows it).
    pub token_label: String,
    /// CKA_LABEL of the private key. Give `key_label`, `key_id` or both (both must match).
    #[serde(default)]
    pub key_label: Option<String>,
    /// CKA_ID of the private key, in hex (e.g. `"01"` or `"a1b2c3"`). Give `key_label`,
    /// `key_id` or both.
    #[serde(default)]
    pub key_id: Option<String>,
    /// File holding the token's user PIN, read once when the key is opened; one trailing
    /// newline is dropped. Exactly one of `pin_file` and `pin_env`.
    #[serde(default)]
    pub pin_file: Option<PathBuf>,
    /// Name of the environment variable holding the token's user PIN, read once when the
    /// key is opened. Exactly one of `pin_file` and `pin_env`.
    #[serde(default)]
    pub pin_env: Option<String>,
    /// Signature mechanism: `"rsa-pkcs1"` (the default for RSA keys), `"rsa-pss"`, or
    /// `"ecdsa"` (EC keys; SHA-256 on P-256, SHA-384 on P-384). Left out, it follows the key.
    #[serde(default)]
    pub mechanism: Option<Pkcs11Mechanism>,
    /// Sessions the key opens at most (one per concurrent signature; more signers wait for a
    /// free one), 1 to 256. Default 4.
    #[serde(default = "default_max_sessions")]
    pub max_sessions: usize,
}

/// Where the PIN comes from, once the spec is checked.
enum PinSource<'a> {
    File(&'a Path),
    Env(&'a str),
}

impl Pkcs11Spec {
    /// Checks the spec is complete and consistent; the error names the field.
    pub fn validate(&self) -> Result<(), KeyError> {
        let bad = |m: String| Err(KeyError::Pkcs11Spec(m));
        if self.module.as_os_str().is_empty() {
            return bad("module: the path of the PKCS#11 module is empty".into());
        }
        if self.token_label.is_empty() {
            return bad("token_label is empty".into());
        }
        if self.key_label.is_none() && self.key_id.is_none() {
            return bad(
                "name the key with key_label (CKA_LABEL) and/or key_id (hex CKA_ID)".into(),
            );
        }
        if self.key_label.as_deref() == Some("") {
            return bad("key_label is empty".into());
        }
        self.key_id_bytes()?;
        self.pin_source()?;
        if !(1..=MAX_SESSIONS_LIMIT).contains(&self.max_sessions) {
            return bad(format!(
                "max_sessions must be 1 to {MAX_SESSIONS_LIMIT}, not {}",
                self.max_sessions
            ));
        }
        Ok(())
    }

    /// The CKA_ID bytes of `key_id`, if given.
    pub fn key_id_bytes(&self) -> Result<Option<Vec<u8>>, KeyError> {
        let Some(hex_id) = &self.key_id else {
            return Ok(None);
        };
        let bytes = hex::decode(hex_id).map_err(|_| {
            KeyError::Pkcs11Spec(format!("key_id {hex_id:?} is not hex (e.g. \"01a2\")"))
        })?;
        if bytes.is_empty() {
            return Err(KeyError::Pkcs11Spec("key_id is empty".into()));
        }
        Ok(Some(bytes))
    }

    fn pin_source(&self) -> Result<PinSource<'_>, KeyError> {
        match (&self.pin_file, &self.pin_env) {
            (Some(file), None) => Ok(PinSource::File(file)),
            (None, Some(var)) if !var.is_empty() => Ok(PinSource::Env(var)),
            (None, Some(_)) => Err(KeyError::Pkcs11Spec("pin_env is empty".into())),
            (None, None) => Err(KeyError::Pkcs11Spec(
                "give the PIN's source: pin_file or pin_env".into(),
            )),
            (Some(_), Some(_)) => Err(KeyError::Pkcs11Spec(
                "pin_file and pin_env are both given; keep one".into(),
            )),
        }
    }

    /// Reads the user PIN from its file or environment variable. One trailing newline
    /// (`\n` or `\r\n`) is dropped; nothing else is changed. Errors name the source only.
    pub(super) fn read_pin(&self) -> Result<AuthPin, KeyError> {
        self.read_pin_text().map(AuthPin::from)
    }

    fn read_pin_text(&self) -> Result<String, KeyError> {
        let (mut text, origin) = match self.pin_source()? {
            PinSource::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    KeyError::Pkcs11Pin(format!("cannot read pin_file {}: {e}", path.display()))
                })?;
                let text = String::from_utf8(bytes).map_err(|_| {
                    KeyError::Pkcs11Pin(format!("pin_file {} is not UTF-8", path.display()))
                })?;
                (text, format!("pin_file {}", path.display()))
            }
            PinSource::Env(var) => {
                let text = std::env::var(var)
                    .map_err(|e| KeyError::Pkcs11Pin(format!("environment variable {var}: {e}")))?;
                (text, format!("environment variable {var}"))
            }
        };
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        if text.is_empty() {
            return Err(KeyError::Pkcs11Pin(format!("{origin} holds an empty PIN")));
        }
        Ok(text)
    }

    /// Reads an RFC 7512 `pkcs11:` URI, the form `--signer-key` takes:
    ///
    /// `pkcs11:token=Agency%20HSM;object=agency;id=%01%02?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/etc/saoy/pin`
    ///
    /// Path attributes: `token` (required), `object` (CKA_LABEL) and/or `id` (CKA_ID bytes,
    /// percent-encoded), `type=private` (the only type accepted; may be left out). Query
    /// attributes: `module-path` (required), `pin-source` (required: `file:/path`,
    /// `file:///path`, or saoy's extension `env:NAME`), and saoy's extensions
    /// `x-mechanism=rsa-pkcs1|rsa-pss|ecdsa` and `x-max-sessions=N`. Values are
    /// percent-decoded. `pin-value` is refused: a PIN inside the URI would sit in shell
    /// histories and process listings. Any other attribute is refused by name rather than
    /// ignored, so a URI never selects a different key than it seems to.
    pub fn from_uri(uri: &str) -> Result<Self, KeyError> {
        let bad = |m: String| KeyError::Pkcs11Spec(format!("pkcs11 URI: {m}"));
        let rest = uri
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .and_then(|_| uri.get(7..))
            .ok_or_else(|| bad("it must start with \"pkcs11:\"".into()))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut spec = Pkcs11Spec {
            module: PathBuf::new(),
            token_label: String::new(),
            key_label: None,
            key_id: None,
            pin_file: None,
            pin_env: None,
            mechanism: None,
            max_sessions: DEFAULT_MAX_SESSIONS,
        };
        let mut seen: Vec<String> = Vec::new();
        for (attr, raw) in attributes(path, ';')? {
            if seen.contains(&attr) {
                return Err(bad(format!("attribute {attr} given twice")));
            }
            seen.push(attr.clone());
            match attr.as_str() {
                "token" => spec.token_label = utf8(&attr, percent_decode(&attr, raw)?)?,
                "object" => spec.key_label = Some(utf8(&attr, percent_decode(&attr, raw)?)?),
                "id" => spec.key_id = Some(hex::encode(percent_decode(&attr, raw)?)),
                "type" => {
                    let t = utf8(&attr, percent_decode(&attr, raw)?)?;
                    if t != "private" {
                        return Err(bad(format!(
                            "type={t}: saoy signs with a private key (type=private)"
                        )));
                    }
                }
                other => {
                    return Err(bad(format!(
                        "path attribute {other} is not supported (saoy reads token, object, id, type)"
                    )));
                }
            }
        }
        for (attr, raw) in attributes(query, '&')? {
            if seen.contains(&attr) {
                return Err(bad(format!("attribute {attr} given twice")));
            }
            seen.push(attr.clone());
            let value = utf8(&attr, percent_decode(&attr, raw)?)?;
            match attr.as_str() {
                "module-path" => spec.module = PathBuf::from(value),
                "pin-source" => pin_source_from_uri(&mut spec, &value)?,
                "pin-value" => {
                    return Err(bad(
                        "pin-value is refused: a PIN in the URI ends up in shell histories and \
                         process listings; use pin-source=file:/path or pin-source=env:NAME"
                            .into(),
                    ));
                }
                "x-mechanism" => {
                    spec.mechanism = Some(Pkcs11Mechanism::from_name(&value).ok_or_else(|| {
                        bad(format!(
                            "x-mechanism={value}: expected rsa-pkcs1, rsa-pss or ecdsa"
                        ))
                    })?);
                }
                "x-max-sessions" => {
                    spec.max_sessions = value
                        .parse()
                        .map_err(|_| bad(format!("x-max-sessions={value}: expected a number")))?;
                }
                other => {
                    return Err(bad(format!(
                        "query attribute {other} is not supported (saoy reads module-path, \
                         pin-source, x-mechanism, x-max-sessions)"
                    )));
                }
            }
        }
        if spec.token_label.is_empty() {
            return Err(bad("token=LABEL is missing".into()));
        }
        if spec.key_label.is_none() && spec.key_id.is_none() {
            return Err(bad("name the key with object=LABEL and/or id=%XX…".into()));
        }
        if spec.module.as_os_str().is_empty() {
            return Err(bad("?module-path=/path/to/module.so is missing".into()));
        }
        if spec.pin_file.is_none() && spec.pin_env.is_none() {
            return Err(bad("pin-source=file:/path (or env:NAME) is missing".into()));
        }
        spec.validate()?;
        Ok(spec)
    }
}

/// `name=value` pairs separated by `sep`; empty pieces are skipped.
fn attributes(part: &str, sep: char) -> Result<Vec<(String, &str)>, KeyError> {
    part.split(sep)
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            piece
                .split_once('=')
                .map(|(name, value)| (name.to_ascii_lowercase(), value))
                .ok_or_else(|| {
                    KeyError::Pkcs11Spec(format!("pkcs11 URI: {piece:?} is not name=value"))
                })
        })
        .collect()
}

fn pin_source_from_uri(spec: &mut Pkcs11Spec, value: &str) -> Result<(), KeyError> {
    if let Some(var) = value.strip_prefix("env:") {
        spec.pin_env = Some(var.to_string());
        return Ok(());
    }
    let path = value
        .strip_prefix("file://")
        .or_else(|| value.strip_prefix("file:"))
        .filter(|p| p.starts_with('/'));
    match path {
        Some(p) => {
            spec.pin_file = Some(PathBuf::from(p));
            Ok(())
        }
        None => Err(KeyError::Pkcs11Spec(format!(
            "pkcs11 URI: pin-source={value}: expected file:/absolute/path or env:NAME"
        ))),
    }
}

/// RFC 3986 percent-decoding of one attribute value.
fn percent_decode(attr: &str, raw: &str) -> Result<Vec<u8>, KeyError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex_pair = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    KeyError::Pkcs11Spec(format!(
                        "pkcs11 URI: {attr}: a % must be followed by two hex digits"
                    ))
                })?;
            out.push(hex_pair);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

fn utf8(attr: &str, bytes: Vec<u8>) -> Result<String, KeyError> {
    String::from_utf8(bytes)
        .map_err(|_| KeyError::Pkcs11Spec(format!("pkcs11 URI: {attr} is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SO: &str = "/usr/lib/softhsm/libsofthsm2.so";

    #[test]
    fn a_full_uri_reads_into_a_spec() {
        let spec = Pkcs11Spec::from_uri(&format!(
            "pkcs11:token=Agency%20HSM;object=agency%3bkey;id=%01%a2;type=private\
             ?module-path={SO}&pin-source=file:/run/pin&x-mechanism=rsa-pss&x-max-sessions=8"
        ))
        .unwrap();
        assert_eq!(spec.token_label, "Agency HSM");
        assert_eq!(spec.key_label.as_deref(), Some("agency;key"));
        assert_eq!(spec.key_id.as_deref(), Some("01a2"));
        assert_eq!(spec.module, PathBuf::from(SO));
        assert_eq!(spec.pin_file, Some(PathBuf::from("/run/pin")));
        assert_eq!(spec.mechanism, Some(Pkcs11Mechanism::RsaPss));
        assert_eq!(spec.max_sessions, 8);
        let env = Pkcs11Spec::from_uri(&format!(
            "pkcs11:token=t;id=%07?module-path={SO}&pin-source=env:HSM_PIN"
        ))
        .unwrap();
        assert_eq!(env.pin_env.as_deref(), Some("HSM_PIN"));
        assert_eq!(env.max_sessions, DEFAULT_MAX_SESSIONS);
        let triple = Pkcs11Spec::from_uri(&format!(
            "PKCS11:token=t;object=k?module-path={SO}&pin-source=file:///etc/pin"
        ))
        .unwrap();
        assert_eq!(triple.pin_file, Some(PathBuf::from("/etc/pin")));
    }

    #[test]
    fn bad_uris_say_what_is_wrong() {
        let cases = [
            ("token=t;object=k", "must start with"),
            (
                "pkcs11:object=k?module-path=/m.so&pin-source=file:/p",
                "token=LABEL",
            ),
            (
                "pkcs11:token=t?module-path=/m.so&pin-source=file:/p",
                "object=LABEL",
            ),
            ("pkcs11:token=t;object=k?pin-source=file:/p", "module-path"),
            ("pkcs11:token=t;object=k?module-path=/m.so", "pin-source"),
            (
                "pkcs11:token=t;object=k?module-path=/m.so&pin-value=1234",
                "pin-value is refused",
            ),
            (
                "pkcs11:token=t;object=k;serial=9?module-path=/m.so&pin-source=file:/p",
                "serial",
            ),
            (
                "pkcs11:token=t;object=k;type=cert?module-path=/m.so&pin-source=file:/p",
                "type=cert",
            ),
            (
                "pkcs11:token=t;object=k;token=u?module-path=/m.so&pin-source=file:/p",
                "twice",
            ),
            (
                "pkcs11:token=t;id=%0?module-path=/m.so&pin-source=file:/p",
                "two hex digits",
            ),
            (
                "pkcs11:token=t;object=k?module-path=/m.so&pin-source=relative",
                "file:/absolute",
            ),
            (
                "pkcs11:token=t;object=k?module-path=/m.so&pin-source=file:/p&x-mechanism=dsa",
                "x-mechanism=dsa",
            ),
            (
                "pkcs11:token=t;object=k?module-path=/m.so&pin-source=file:/p&x-max-sessions=0",
                "max_sessions",
            ),
            (
                "pkcs11:token=t;object=%ff?module-path=/m.so&pin-source=file:/p",
                "not UTF-8",
            ),
        ];
        for (uri, needle) in cases {
            let err = Pkcs11Spec::from_uri(uri).unwrap_err().to_string();
            assert!(err.contains(needle), "{uri}: {err}");
        }
    }

    #[test]
    fn the_toml_table_is_strict() {
        let spec: Pkcs11Spec = toml::from_str(&format!(
            "module = \"{SO}\"\ntoken_label = \"t\"\nkey_id = \"01\"\npin_env = \"PIN\"\n"
        ))
        .unwrap();
        assert_eq!(spec.max_sessions, DEFAULT_MAX_SESSIONS);
        assert_eq!(spec.mechanism, None);
        spec.validate().unwrap();
        let typo = toml::from_str::<Pkcs11Spec>(&format!(
            "module = \"{SO}\"\ntoken_label = \"t\"\nkey_id = \"01\"\npin = \"1234\"\n"
        ));
        assert!(typo.is_err());
        let both = Pkcs11Spec {
            pin_file: Some("/p".into()),
            ..spec.clone()
        };
        assert!(both.validate().unwrap_err().to_string().contains("both"));
        let not_hex = Pkcs11Spec {
            key_id: Some("zz".into()),
            ..spec
        };
        assert!(not_hex.validate().unwrap_err().to_string().contains("hex"));
    }

    #[test]
    fn the_pin_file_loses_one_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pin");
        let spec = Pkcs11Spec {
            module: SO.into(),
            token_label: "t".into(),
            key_label: Some("k".into()),
            key_id: None,
            pin_file: Some(file.clone()),
            pin_env: None,
            mechanism: None,
            max_sessions: 1,
        };
        std::fs::write(&file, "12 34\n\n").unwrap();
        assert_eq!(spec.read_pin_text().unwrap(), "12 34\n");
        std::fs::write(&file, "5678\r\n").unwrap();
        assert_eq!(spec.read_pin_text().unwrap(), "5678");
        std::fs::write(&file, "\n").unwrap();
        let err = spec.read_pin().unwrap_err().to_string();
        assert!(err.contains("empty PIN"), "{err}");
        std::fs::remove_file(&file).unwrap();
        assert!(
            spec.read_pin()
                .unwrap_err()
                .to_string()
                .contains("cannot read")
        );
    }
}
