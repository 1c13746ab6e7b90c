//! The agencies one deployment certifies for, each with its organisation signer and its
//! certifiers, and where every signing key lives (a file, a PKCS#11 token, or the
//! certifier's own device).

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{ConfigError, check_file};
use crate::pki::pkcs11::Pkcs11Spec;

/// One certifying agency (cơ quan thực hiện chứng thực): a `[[agencies]]` table of the
/// config file, or one file of `agencies_dir`.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct AgencyConfig {
    /// Agency e-identifier code (QĐ 20/2020/QĐ-TTg), `^[A-Z0-9.]{1,35}$`; a clerk's client
    /// certificate names it (organizationIdentifier), and that decides the agency of a copy.
    pub code: String,
    /// Agency name as printed on the copy.
    pub name: String,
    /// Province or city, printed as the place of certification.
    pub location: String,
    /// Book number (quyển số) of the certification book.
    pub book: String,
    /// Book code suffix (ký hiệu sổ), "SCT/BS" for copies from originals.
    pub book_code: String,
    /// Copy type shown in the page-1 stamp (NĐ 30/2020 "hình thức sao").
    pub copy_type: String,
    /// The certification statement (lời chứng).
    pub statement: String,
    /// The agency's organisation certificate and key: signs every copy of this agency.
    pub signer: SignerConfig,
    /// The people who certify (chairman, vice-chairman, head of the justice office), each
    /// with a personal certificate; a Certify call names one by `id` (empty: the first).
    /// None: copies carry the agency's signature only.
    pub certifiers: Vec<SignerConfig>,
}

/// One signing credential: a certificate chain and where its private key lives. Exactly one
/// of `key_file`, `pkcs11` and `external` says where the key is.
#[derive(Clone, Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SignerConfig {
    /// Certifiers: a stable id a Certify call may name (`certifier` in the request); empty
    /// = the certifier's position in the list, from 1.
    pub id: String,
    /// PKCS#8 PEM private key file (tests and development only: the key is in the file).
    pub key_file: PathBuf,
    /// The key on a PKCS#11 token or HSM (module, token label, key label or id, PIN file
    /// or variable); it never leaves the token.
    pub pkcs11: Option<Pkcs11Spec>,
    /// Certifiers only: the certifier signs on their own device (`saoy sign-pending`);
    /// Certify returns the copy awaiting that signature.
    pub external: bool,
    /// PEM file: the signer certificate followed by its issuing CAs.
    pub chain_file: PathBuf,
    /// Name printed for this signer (the certifier's full name; the agency's name when
    /// empty for the organisation signer).
    pub name: String,
    /// Title printed above the name (e.g. "Phó Chủ tịch UBND xã").
    pub title: String,
}

/// Where a signer's private key is.
#[derive(Clone, Debug, PartialEq)]
pub enum KeyPlace<'a> {
    /// A PKCS#8 PEM file.
    File(&'a Path),
    /// A PKCS#11 token.
    Pkcs11(&'a Pkcs11Spec),
    /// The certifier's own device, signing through `CompleteCertification`.
    External,
}

impl SignerConfig {
    /// Where the key is; an error names the field when none or several are given.
    pub fn key_place(&self, field: &'static str) -> Result<KeyPlace<'_>, ConfigError> {
        let file = !self.key_file.as_os_str().is_empty();
        match (file, &self.pkcs11, self.external) {
            (true, None, false) => Ok(KeyPlace::File(&self.key_file)),
            (false, Some(spec), false) => Ok(KeyPlace::Pkcs11(spec)),
            (false, None, true) => Ok(KeyPlace::External),
            (false, None, false) => Err(ConfigError::Invalid {
                field,
                message: "say where the private key is: key_file, pkcs11 or external = true".into(),
            }),
            _ => Err(ConfigError::Invalid {
                field,
                message: "give only one of key_file, pkcs11 and external = true".into(),
            }),
        }
    }

    /// Every file this signer reads (to notice a renewed certificate or key).
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = vec![self.chain_file.clone()];
        if !self.key_file.as_os_str().is_empty() {
            files.push(self.key_file.clone());
        }
        files
    }
}

/// The default statement, book code and copy type of a copy from an original.
impl AgencyConfig {
    /// An agency with the usual book, statement and copy type (NĐ 23/2015, NĐ 30/2020).
    pub fn with_usual_texts(code: &str, name: &str, location: &str) -> Self {
        Self {
            code: code.into(),
            name: name.into(),
            location: location.into(),
            book: "01".into(),
            book_code: "SCT/BS".into(),
            copy_type: "Bản sao điện tử chứng thực từ bản chính".into(),
            statement: "Chứng thực bản sao đúng với bản chính.".into(),
            ..Self::default()
        }
    }

    /// The certifier with `id` (empty: the first one), or `None` when there is none.
    pub fn certifier(&self, id: &str) -> Option<(usize, &SignerConfig)> {
        let id = id.trim();
        self.certifiers
            .iter()
            .enumerate()
            .find(|(i, c)| id.is_empty() || certifier_id(*i, c) == id)
    }

    /// Every file the agency's signers read.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut files = self.signer.files();
        for c in &self.certifiers {
            files.extend(c.files());
        }
        files
    }

    /// Checks the agency's fields, its signers' files and where their keys are.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate_code(&self.code)?;
        for (field, value) in [
            ("agencies.name", &self.name),
            ("agencies.book", &self.book),
            ("agencies.book_code", &self.book_code),
            ("agencies.statement", &self.statement),
        ] {
            if value.trim().is_empty() {
                return Err(self.invalid(field, "must not be empty"));
            }
        }
        let named = |e: ConfigError| match e {
            ConfigError::Invalid { field, message } => ConfigError::Invalid {
                field,
                message: format!("agency {}: {message}", self.code),
            },
            other => other,
        };
        match self.signer.key_place("agencies.signer").map_err(named)? {
            KeyPlace::External => {
                return Err(self.invalid(
                    "agencies.signer.external",
                    "the organisation signature is made by the service: use key_file or pkcs11",
                ));
            }
            KeyPlace::File(f) => check_file("agencies.signer.key_file", f).map_err(named)?,
            KeyPlace::Pkcs11(spec) => spec
                .validate()
                .map_err(|e| self.invalid("agencies.signer.pkcs11", &e.to_string()))?,
        }
        check_file("agencies.signer.chain_file", &self.signer.chain_file).map_err(named)?;
        let mut ids = std::collections::HashSet::new();
        for (i, c) in self.certifiers.iter().enumerate() {
            match c.key_place("agencies.certifiers").map_err(named)? {
                KeyPlace::File(f) => {
                    check_file("agencies.certifiers.key_file", f).map_err(named)?
                }
                KeyPlace::Pkcs11(spec) => spec
                    .validate()
                    .map_err(|e| self.invalid("agencies.certifiers.pkcs11", &e.to_string()))?,
                KeyPlace::External => {}
            }
            check_file("agencies.certifiers.chain_file", &c.chain_file).map_err(named)?;
            if c.name.trim().is_empty() {
                return Err(self.invalid(
                    "agencies.certifiers.name",
                    "the certifier's full name is printed on the copy; set it",
                ));
            }
            if !ids.insert(certifier_id(i, c)) {
                return Err(self.invalid(
                    "agencies.certifiers.id",
                    &format!("two certifiers share the id {:?}", certifier_id(i, c)),
                ));
            }
        }
        Ok(())
    }

    fn invalid(&self, field: &'static str, message: &str) -> ConfigError {
        ConfigError::Invalid {
            field,
            message: format!("agency {}: {message}", self.code),
        }
    }
}

/// The id of the certifier at `index` (its `id`, else its position from 1).
pub fn certifier_id(index: usize, c: &SignerConfig) -> String {
    match c.id.trim() {
        "" => (index + 1).to_string(),
        id => id.to_string(),
    }
}

/// Checks an agency e-identifier code: 1 to 35 of A-Z, 0-9 and '.'.
pub fn validate_code(code: &str) -> Result<(), ConfigError> {
    let ok = !code.is_empty()
        && code.len() <= 35
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'.');
    if ok {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        field: "agencies.code",
        message: format!("{code:?} must be the agency e-identifier: 1 to 35 of A-Z, 0-9 and '.'"),
    })
}

/// Reads every `*.toml` file of `dir` as one agency each, in file-name order.
pub fn read_dir(dir: &Path) -> Result<Vec<AgencyConfig>, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: dir.display().to_string(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?;
            toml::from_str::<AgencyConfig>(&text).map_err(|e| ConfigError::Parse {
                path: p.display().to_string(),
                message: e.to_string(),
            })
        })
        .collect()
}

/// The two agencies of the TEST PKI in `certs-test/` (the embedded default).
pub fn test_agencies(pki: &Path) -> Vec<AgencyConfig> {
    let file_signer = |stem: &str, name: &str, title: &str| SignerConfig {
        key_file: pki.join(format!("{stem}.key.pem")),
        chain_file: pki.join(format!("{stem}-chain.pem")),
        name: name.into(),
        title: title.into(),
        ..SignerConfig::default()
    };
    let mut first = AgencyConfig::with_usual_texts("H72.21.01", "UBND xã Tân Lập", "Tây Ninh");
    first.signer = file_signer("agency", "UBND xã Tân Lập", "");
    first.certifiers = vec![SignerConfig {
        id: "nhung".into(),
        ..file_signer("certifier", "Nguyễn Thị Hồng Nhung", "Phó Chủ tịch UBND xã")
    }];
    let mut second = AgencyConfig::with_usual_texts("H72.21.02", "UBND xã Hòa Hiệp", "Tây Ninh");
    second.signer = file_signer("agency2", "UBND xã Hòa Hiệp", "");
    second.certifiers = vec![SignerConfig {
        id: "binh".into(),
        ..file_signer("certifier2", "Phạm Văn Bình", "Chủ tịch UBND xã")
    }];
    vec![first, second]
}
