//! Trust anchors and CRLs from files: PEM (one or more blocks) or DER.

use std::path::{Path, PathBuf};

use thiserror::Error;

/// Errors loading trust material.
#[derive(Debug, Error)]
pub enum TrustError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The PEM text could not be parsed.
    #[error("{path}: invalid PEM: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        message: String,
    },
    /// The file holds no item of the expected kind.
    #[error("{path}: no {what} found")]
    Empty {
        /// The file.
        path: PathBuf,
        /// "certificate" or "CRL".
        what: &'static str,
    },
    /// An item is not valid DER of the expected kind.
    #[error("{path}: item {index} is not a valid {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Zero-based index of the item in the file.
        index: usize,
        /// "certificate" or "CRL".
        what: &'static str,
    },
}

/// One trust anchor and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, lowercase hexadecimal.
    pub sha256: String,
    /// The file it was loaded from.
    pub source: PathBuf,
}

/// Trust anchors from a directory of PEM/DER certificate files (`*.pem`, `*.crt`, `*.cer`,
/// `*.der`), reloadable while the service runs: a failed reload keeps the previous set.
#[derive(Debug)]
pub struct TrustStore {
    dir: PathBuf,
    anchors: std::sync::RwLock<std::sync::Arc<Vec<Anchor>>>,
}

impl TrustStore {
    /// Loads every certificate file in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, TrustError> {
        let dir = dir.into();
        let anchors = load_dir(&dir)?;
        Ok(TrustStore {
            dir,
            anchors: std::sync::RwLock::new(std::sync::Arc::new(anchors)),
        })
    }

    /// Re-reads the directory; on success the new set replaces the old one and its size is
    /// returned, on error the old set stays in use.
    pub fn reload(&self) -> Result<usize, TrustError> {
        let fresh = load_dir(&self.dir)?;
        let n = fresh.len();
        match self.anchors.write() {
            Ok(mut g) => *g = std::sync::Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = std::sync::Arc::new(fresh),
        }
        Ok(n)
    }

    /// The current anchors (a snapshot: a concurrent reload does not change it).
    pub fn anchors(&self) -> std::sync::Arc<Vec<Anchor>> {
        match self.anchors.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The DER certificates, for a validation policy.
    pub fn der_anchors(&self) -> Vec<Vec<u8>> {
        self.anchors().iter().map(|a| a.der.clone()).collect()
    }

    /// Why the anchor with this SHA-256 is trusted, e.g. "trust store file /etc/saoy/roots/a.pem".
    pub fn reason(&self, sha256: &str) -> Option<String> {
        self.anchors()
            .iter()
            .find(|a| a.sha256.eq_ignore_ascii_case(sha256))
            .map(|a| format!("trust store file {}", a.source.display()))
    }
}

fn load_dir(dir: &Path) -> Result<Vec<Anchor>, TrustError> {
    let io = |source| TrustError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| matches!(x, "pem" | "crt" | "cer" | "der"))
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        for der in load_certificates(&f)? {
            let sha256 = hex::encode(ring::digest::digest(&ring::digest::SHA256, &der));
            out.push(Anchor {
                der,
                sha256,
                source: f.clone(),
            });
        }
    }
    Ok(out)
}

/// Loads DER certificates from `path`: PEM with one or more CERTIFICATE blocks, or one DER certificate.
pub fn load_certificates(path: impl AsRef<Path>) -> Result<Vec<Vec<u8>>, TrustError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let items = parse_items(
        path,
        &bytes,
        &["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"],
    )?;
    validate(path, items, "certificate", |d| {
        use x509_parser::prelude::{FromDer, X509Certificate};
        X509Certificate::from_der(d).is_ok()
    })
}

/// Loads DER CRLs from `path`: PEM with one or more X509 CRL blocks, or one DER CRL.
pub fn load_crls(path: impl AsRef<Path>) -> Result<Vec<Vec<u8>>, TrustError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let items = parse_items(path, &bytes, &["X509 CRL", "CRL"])?;
    validate(path, items, "CRL", |d| {
        use x509_parser::prelude::{CertificateRevocationList, FromDer};
        CertificateRevocationList::from_der(d).is_ok()
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TrustError> {
    std::fs::read(path).map_err(|source| TrustError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn is_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn parse_items(path: &Path, bytes: &[u8], tags: &[&str]) -> Result<Vec<Vec<u8>>, TrustError> {
    if !is_pem(bytes) {
        return Ok(vec![bytes.to_vec()]);
    }
    let blocks = pem::parse_many(bytes).map_err(|e| TrustError::Pem {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(blocks
        .into_iter()
        .filter(|b| tags.contains(&b.tag()))
        .map(pem::Pem::into_contents)
        .collect())
}

fn validate(
    path: &Path,
    items: Vec<Vec<u8>>,
    what: &'static str,
    ok: impl Fn(&[u8]) -> bool,
) -> Result<Vec<Vec<u8>>, TrustError> {
    if items.is_empty() {
        return Err(TrustError::Empty {
            path: path.to_path_buf(),
            what,
        });
    }
    for (index, d) in items.iter().enumerate() {
        if !ok(d) {
            return Err(TrustError::Invalid {
                path: path.to_path_buf(),
                index,
                what,
            });
        }
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust_store_reloads_without_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = TrustStore::open(dir.path()).unwrap();
        assert!(store.anchors().is_empty());
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["root".into()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(dir.path().join("root.pem"), cert.pem()).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        assert_eq!(store.reload().unwrap(), 1);
        let a = store.anchors();
        assert_eq!(a[0].der, cert.der().to_vec());
        assert!(store.reason(&a[0].sha256).unwrap().ends_with("root.pem"));
        // A broken file fails the reload and keeps the previous set.
        std::fs::write(
            dir.path().join("bad.pem"),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        assert!(store.reload().is_err());
        assert_eq!(store.anchors().len(), 1);
    }

    #[test]
    fn missing_file_is_io_error() {
        assert!(matches!(
            load_certificates("/nonexistent/root.pem"),
            Err(TrustError::Io { .. })
        ));
    }

    #[test]
    fn pem_without_certificates_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.pem");
        std::fs::write(
            &p,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        assert!(matches!(
            load_certificates(&p),
            Err(TrustError::Empty { .. })
        ));
        let g = dir.path().join("g.der");
        std::fs::write(&g, b"\x30\x03\x02\x01\x01").unwrap();
        assert!(matches!(load_crls(&g), Err(TrustError::Invalid { .. })));
    }
}
