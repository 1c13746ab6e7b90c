//! The agencies in force: each agency's configuration with its organisation credential and
//! its certifiers' keys, loaded at start and loaded again when an agency file or a signer's
//! certificate or key file changes (a renewed certificate is picked up without a restart;
//! a set that does not load keeps the previous one in force, and says why in the log).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use crate::config::agency::{self, certifier_id};
use crate::config::{AgencyConfig, Config, ConfigError, KeyPlace, SignerConfig};
use crate::error::{Error, Result};
use crate::pki::key::{Credential, ExternalKey, read_pem_certificates};

/// One agency as loaded.
#[derive(Debug)]
pub(crate) struct Agency {
    /// What the configuration says of it.
    pub config: AgencyConfig,
    /// The organisation signer.
    pub signer: Credential,
    /// Its certifiers, in configuration order.
    pub certifiers: Vec<Certifier>,
}

/// A certifier of an agency, and where its key is.
#[derive(Debug)]
pub(crate) struct Certifier {
    /// Its id (the `certifier` of a Certify call).
    pub id: String,
    /// Printed name, title, files.
    pub config: SignerConfig,
    /// The certificate chain, with a handle on the key (file or PKCS#11 token) or, when
    /// the certifier signs on their own device, an [`ExternalKey`].
    pub credential: Credential,
    /// True when the certifier signs on their own device.
    pub external: bool,
}

impl Agency {
    /// The certifier `id` names (empty: the first), or INVALID_ARGUMENT naming the ids.
    pub fn certifier(&self, id: &str) -> Result<Option<&Certifier>> {
        if self.certifiers.is_empty() {
            return match id.trim() {
                "" => Ok(None),
                other => Err(Error::InvalidArgument(format!(
                    "certifier {other:?}: agency {} signs its copies alone (no certifier is configured)",
                    self.config.code
                ))),
            };
        }
        let id = id.trim();
        match self.certifiers.iter().find(|c| id.is_empty() || c.id == id) {
            Some(c) => Ok(Some(c)),
            None => Err(Error::InvalidArgument(format!(
                "certifier {id:?} is not a certifier of agency {}; its certifiers are {}",
                self.config.code,
                self.certifiers
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }
}

/// A credential whose key is where `signer` says (a file or a PKCS#11 token).
pub(crate) fn held_credential(signer: &SignerConfig, field: &'static str) -> Result<Credential> {
    let chain = read_pem_certificates(&signer.chain_file)?;
    match signer.key_place(field)? {
        KeyPlace::File(path) => Ok(Credential::new(
            Arc::new(crate::pki::key::RingKey::load(path)?),
            chain,
        )?),
        KeyPlace::Pkcs11(spec) => Ok(Credential::from_pkcs11(spec, chain)?),
        KeyPlace::External => Err(Error::Internal(format!(
            "{field}: an external key cannot sign in the service"
        ))),
    }
}

fn load_agency(config: &AgencyConfig) -> Result<Agency> {
    config.validate()?;
    let mut signer_config = config.signer.clone();
    if signer_config.name.trim().is_empty() {
        signer_config.name = config.name.clone();
    }
    let signer = held_credential(&signer_config, "agencies.signer")?;
    let certifiers = config
        .certifiers
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let external = c.key_place("agencies.certifiers")? == KeyPlace::External;
            let credential = match external {
                true => {
                    let chain = read_pem_certificates(&c.chain_file)?;
                    let leaf = chain.first().map(Vec::as_slice).unwrap_or_default();
                    Credential::new(Arc::new(ExternalKey::of_certificate(leaf)?), chain)?
                }
                false => held_credential(c, "agencies.certifiers")?,
            };
            Ok(Certifier {
                id: certifier_id(i, c),
                config: c.clone(),
                credential,
                external,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let config = AgencyConfig {
        signer: signer_config,
        ..config.clone()
    };
    Ok(Agency {
        config,
        signer,
        certifiers,
    })
}

/// What a loaded set was made from: the agency configurations and the time and size of
/// every file they read.
#[derive(Debug, PartialEq)]
struct Stamp(Vec<(PathBuf, Option<SystemTime>, Option<u64>)>);

impl Stamp {
    fn of(configs: &[AgencyConfig], dir: Option<&PathBuf>) -> Self {
        let mut files: Vec<PathBuf> = configs.iter().flat_map(AgencyConfig::files).collect();
        if let Some(dir) = dir
            && let Ok(entries) = std::fs::read_dir(dir)
        {
            files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
        }
        files.sort();
        files.dedup();
        Stamp(
            files
                .into_iter()
                .map(|p| {
                    let meta = std::fs::metadata(&p).ok();
                    let modified = meta.as_ref().and_then(|m| m.modified().ok());
                    let len = meta.map(|m| m.len());
                    (p, modified, len)
                })
                .collect(),
        )
    }
}

#[derive(Debug)]
struct Loaded {
    by_code: BTreeMap<String, Arc<Agency>>,
    stamp: Stamp,
}

/// The agencies in force, reloadable.
#[derive(Debug)]
pub(crate) struct Agencies {
    fixed: Vec<AgencyConfig>,
    dir: Option<PathBuf>,
    interval: Option<Duration>,
    current: RwLock<Arc<Loaded>>,
}

impl Agencies {
    /// Loads every agency of the configuration and of `agencies_dir`.
    pub fn load(config: &Config) -> Result<Self> {
        let dir = Some(config.agencies_dir.clone()).filter(|d| !d.as_os_str().is_empty());
        let this = Self {
            fixed: config.agencies.clone(),
            dir,
            interval: (config.agencies_reload_secs > 0)
                .then(|| Duration::from_secs(config.agencies_reload_secs)),
            current: RwLock::new(Arc::new(Loaded {
                by_code: BTreeMap::new(),
                stamp: Stamp(Vec::new()),
            })),
        };
        let loaded = this.read()?;
        *this.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
        Ok(this)
    }

    fn configs(&self) -> Result<Vec<AgencyConfig>> {
        let mut all = self.fixed.clone();
        if let Some(dir) = &self.dir {
            all.extend(agency::read_dir(dir)?);
        }
        if all.is_empty() {
            return Err(ConfigError::Invalid {
                field: "agencies_dir",
                message: "no agency is configured (no [[agencies]] table, no *.toml file in agencies_dir)".into(),
            }
            .into());
        }
        Ok(all)
    }

    fn read(&self) -> Result<Loaded> {
        let configs = self.configs()?;
        let stamp = Stamp::of(&configs, self.dir.as_ref());
        let mut by_code = BTreeMap::new();
        for c in &configs {
            let agency = load_agency(c)?;
            if by_code.insert(c.code.clone(), Arc::new(agency)).is_some() {
                return Err(ConfigError::Invalid {
                    field: "agencies.code",
                    message: format!("agency {} is configured twice", c.code),
                }
                .into());
            }
        }
        Ok(Loaded { by_code, stamp })
    }

    fn loaded(&self) -> Arc<Loaded> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The agency with `code`, as in force now.
    pub fn get(&self, code: &str) -> Option<Arc<Agency>> {
        self.loaded().by_code.get(code).cloned()
    }

    /// Every agency in force, by code.
    pub fn all(&self) -> Vec<Arc<Agency>> {
        self.loaded().by_code.values().cloned().collect()
    }

    /// How often to look for changed files; `None` = only on SIGHUP.
    pub fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// Loads the agencies again when a file they read changed (always with `force`).
    /// Blocking file (and token) I/O. A set that fails to load leaves the one in force.
    /// Returns true when a new set took over.
    pub fn refresh(&self, force: bool) -> bool {
        if !force {
            let now = match self.configs() {
                Ok(configs) => Stamp::of(&configs, self.dir.as_ref()),
                Err(e) => {
                    tracing::error!(error = %e, "agency files cannot be read; the agencies in force stay");
                    return false;
                }
            };
            if now == self.loaded().stamp {
                return false;
            }
        }
        match self.read() {
            Ok(loaded) => {
                let codes: Vec<String> = loaded.by_code.keys().cloned().collect();
                *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
                tracing::info!(agencies = ?codes, "agencies and signers loaded again");
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "agencies could not be loaded again; the agencies in force stay");
                false
            }
        }
    }
}
