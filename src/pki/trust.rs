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
