//! Trust anchors and CRLs from files: PEM (one or more blocks) or DER. Each anchor carries
//! its file and an optional reason (a `Reason:` line before its PEM block, or a sidecar
//! `NAME.reason` file); [`TrustStore`] keeps a directory of them, re-read when its files change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

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

/// One trust anchor, where it came from and why it is trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// SHA-256 of the DER, lowercase hexadecimal.
    pub sha256: String,
    /// The file it was loaded from.
    pub source: PathBuf,
    /// Subject of the certificate (RFC 4514 style).
    pub subject: String,
    /// Why the operator trusts it: a `Reason:` line before its PEM block, else the text of
    /// the sidecar file `NAME.reason` next to `NAME.pem`; `None` when neither says.
    pub reason: Option<String>,
}

/// What a reload of a [`TrustStore`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reloaded {
    /// Anchors (certificate and file) that were not in the previous set.
    pub added: Vec<Anchor>,
    /// Anchors of the previous set that are gone.
    pub removed: Vec<Anchor>,
    /// Anchors still there whose reason changed (the new version).
    pub reason_changed: Vec<Anchor>,
    /// Size of the new set.
    pub total: usize,
}

impl Reloaded {
    /// True when the new set is the same as the previous one.
    pub fn is_unchanged(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.reason_changed.is_empty()
    }
}

/// Extensions of the certificate files a [`TrustStore`] reads.
pub const ANCHOR_EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "der"];

/// Extension of the sidecar file holding an anchor file's reason (`root.pem` → `root.reason`).
pub const REASON_EXTENSION: &str = "reason";

/// Longest reason kept, in characters (longer ones are cut).
pub const MAX_REASON_CHARS: usize = 500;

/// Most bytes read from a sidecar reason file.
const MAX_REASON_FILE: u64 = 64 << 10;

/// What was seen in the directory at the last look: per file its name, size and
/// modification time, or why the directory could not be listed.
type Fingerprint = Result<Vec<(std::ffi::OsString, u64, Option<std::time::SystemTime>)>, String>;

/// Trust anchors from a directory of PEM/DER certificate files (`*.pem`, `*.crt`, `*.cer`,
/// `*.der`; hidden files are skipped), each with an optional reason (see [`Anchor::reason`]),
/// reloadable while the service runs: a failed reload keeps the previous set.
#[derive(Debug)]
pub struct TrustStore {
    dir: PathBuf,
    anchors: RwLock<Arc<Vec<Anchor>>>,
    /// The directory as seen at the last look; held while a refresh runs.
    seen: Mutex<Option<Fingerprint>>,
}

impl TrustStore {
    /// Loads every certificate file in `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, TrustError> {
        let dir = dir.into();
        let seen = fingerprint(&dir);
        let anchors = load_dir(&dir)?;
        Ok(TrustStore {
            dir,
            anchors: RwLock::new(Arc::new(anchors)),
            seen: Mutex::new(Some(seen)),
        })
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Re-reads the directory; on success the new set replaces the old one and its size is
    /// returned, on error the old set stays in use.
    pub fn reload(&self) -> Result<usize, TrustError> {
        self.refresh(true).map(|r| r.map_or(0, |r| r.total))
    }

    /// Re-reads the directory when its certificate or `.reason` files changed since the last
    /// look (names, sizes, modification times), or always when `force`. `Ok(None)`: nothing
    /// changed. On error the previous set stays in use, and the same broken state is not
    /// reported again (`Ok(None)`) until the files change or `force` is set.
    pub fn refresh(&self, force: bool) -> Result<Option<Reloaded>, TrustError> {
        let mut seen = match self.seen.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let now = fingerprint(&self.dir);
        if !force && seen.as_ref() == Some(&now) {
            return Ok(None);
        }
        *seen = Some(now);
        let fresh = load_dir(&self.dir)?;
        let old = self.anchors();
        let same = |a: &Anchor, b: &Anchor| a.sha256 == b.sha256 && a.source == b.source;
        let reloaded = Reloaded {
            added: fresh
                .iter()
                .filter(|a| !old.iter().any(|b| same(a, b)))
                .cloned()
                .collect(),
            removed: old
                .iter()
                .filter(|b| !fresh.iter().any(|a| same(a, b)))
                .cloned()
                .collect(),
            reason_changed: fresh
                .iter()
                .filter(|a| old.iter().any(|b| same(a, b) && a.reason != b.reason))
                .cloned()
                .collect(),
            total: fresh.len(),
        };
        match self.anchors.write() {
            Ok(mut g) => *g = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(Some(reloaded))
    }

    /// The current anchors (a snapshot: a concurrent reload does not change it).
    pub fn anchors(&self) -> Arc<Vec<Anchor>> {
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

/// The files of `dir` that matter to a [`TrustStore`]: certificates and `.reason` sidecars,
/// hidden files skipped, sorted by path.
fn dir_files(dir: &Path, with_reasons: bool) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_none_or(|n| n.starts_with('.'));
            let wanted = p.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                ANCHOR_EXTENSIONS.contains(&x) || (with_reasons && x == REASON_EXTENSION)
            });
            !hidden && wanted && p.is_file()
        })
        .collect();
    files.sort();
    Ok(files)
}

fn fingerprint(dir: &Path) -> Fingerprint {
    let files = dir_files(dir, true).map_err(|e| e.to_string())?;
    Ok(files
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(&p).ok();
            (
                p.file_name().map(ToOwned::to_owned).unwrap_or_default(),
                meta.as_ref().map_or(0, std::fs::Metadata::len),
                meta.and_then(|m| m.modified().ok()),
            )
        })
        .collect())
}

fn load_dir(dir: &Path) -> Result<Vec<Anchor>, TrustError> {
    let files = dir_files(dir, false).map_err(|source| TrustError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for f in files {
        out.extend(load_anchors(&f)?);
    }
    Ok(out)
}

/// Loads the trust anchors of one certificate file (see [`load_certificates`]), each with its
/// subject and reason: a `Reason: TEXT` line (optionally after `#`) outside the PEM blocks
/// gives the reason of the certificate blocks after it, up to the next such line; blocks
/// without one take the text of the sidecar file `NAME.reason`, if there is one.
pub fn load_anchors(path: impl AsRef<Path>) -> Result<Vec<Anchor>, TrustError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    let ders = certificates_in(path, &bytes)?;
    let mut reasons = if is_pem(&bytes) {
        pem_reasons(&bytes, CERT_TAGS)
    } else {
        Vec::new()
    };
    if reasons.len() != ders.len() {
        // The line scan and the PEM parser disagree on the blocks: trust neither's reasons.
        reasons = vec![None; ders.len()];
    }
    let sidecar = if reasons.iter().any(Option::is_none) {
        sidecar_reason(path)?
    } else {
        None
    };
    Ok(ders
        .into_iter()
        .zip(reasons)
        .map(|(der, reason)| Anchor {
            sha256: crate::hash::sha256_hex(&der),
            subject: subject_of(&der),
            reason: reason.or_else(|| sidecar.clone()),
            source: path.to_path_buf(),
            der,
        })
        .collect())
}

/// PEM labels of certificate blocks.
const CERT_TAGS: &[&str] = &["CERTIFICATE", "TRUSTED CERTIFICATE", "X509 CERTIFICATE"];

fn subject_of(der: &[u8]) -> String {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, c)| c.subject().to_string())
        .unwrap_or_default()
}

/// The reason in force at each certificate block of a PEM text, in block order.
fn pem_reasons(bytes: &[u8], tags: &[&str]) -> Vec<Option<String>> {
    let text = String::from_utf8_lossy(bytes);
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim();
        if inside {
            inside = !line.starts_with("-----END ");
            continue;
        }
        if let Some(rest) = line.strip_prefix("-----BEGIN ") {
            inside = !rest.contains("-----END ");
            let tag = rest.split("-----").next().unwrap_or_default();
            if tags.contains(&tag) {
                out.push(current.clone());
            }
            continue;
        }
        if let Some(reason) = reason_line(line) {
            current = reason;
        }
    }
    out
}

/// `Some(reason)` for a `Reason: TEXT` line (case-insensitive key, optional leading `#`);
/// `Some(None)` when the text is empty (it clears the reason in force).
fn reason_line(line: &str) -> Option<Option<String>> {
    let line = line.trim_start_matches('#').trim_start();
    let key = line.get(..7)?;
    if !key.eq_ignore_ascii_case("reason:") {
        return None;
    }
    Some(clean_reason(line.get(7..).unwrap_or_default()))
}

/// One line of printable text, at most [`MAX_REASON_CHARS`]; `None` when empty.
fn clean_reason(text: &str) -> Option<String> {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_REASON_CHARS)
        .collect();
    (!text.is_empty()).then_some(text)
}

/// The text of `NAME.reason` next to `path`, when there is such a file.
fn sidecar_reason(path: &Path) -> Result<Option<String>, TrustError> {
    use std::io::Read;
    let side = path.with_extension(REASON_EXTENSION);
    let io = |source| TrustError::Io {
        path: side.clone(),
        source,
    };
    let file = match std::fs::File::open(&side) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    let mut bytes = Vec::new();
    file.take(MAX_REASON_FILE)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    Ok(clean_reason(&String::from_utf8_lossy(&bytes)))
}

/// Loads DER certificates from `path`: PEM with one or more CERTIFICATE blocks, or one DER certificate.
pub fn load_certificates(path: impl AsRef<Path>) -> Result<Vec<Vec<u8>>, TrustError> {
    let path = path.as_ref();
    let bytes = read(path)?;
    certificates_in(path, &bytes)
}

fn certificates_in(path: &Path, bytes: &[u8]) -> Result<Vec<Vec<u8>>, TrustError> {
    let items = parse_items(path, bytes, CERT_TAGS)?;
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

impl TrustError {
    /// The kind of this failure: always internal (unreadable trust anchors or CRLs are the server's configuration).
    pub fn kind(&self) -> crate::error_kind::ErrorKind {
        crate::error_kind::ErrorKind::Internal
    }
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

    fn self_signed(cn: &str) -> rcgen::Certificate {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec![cn.into()]).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.self_signed(&key).unwrap()
    }

    #[test]
    fn reason_lines_apply_to_the_blocks_after_them() {
        let (a, b, c) = (self_signed("a"), self_signed("b"), self_signed("c"));
        let text = format!(
            "Root bundle\n# Reason: Government root G1\n{}{}\nREASON:   G2,\tcross-signed \n{}",
            a.pem(),
            b.pem(),
            c.pem()
        );
        let reasons = pem_reasons(text.as_bytes(), CERT_TAGS);
        assert_eq!(
            reasons,
            vec![
                Some("Government root G1".to_string()),
                Some("Government root G1".to_string()),
                Some("G2, cross-signed".to_string()),
            ]
        );
        // Lines inside a block and other PEM labels neither count nor give reasons.
        let text = "-----BEGIN PRIVATE KEY-----\nReason: inside\n-----END PRIVATE KEY-----\n";
        assert!(pem_reasons(text.as_bytes(), CERT_TAGS).is_empty());
        // An empty reason line clears the one in force.
        let text = format!("Reason: x\n{}Reason:\n{}", a.pem(), b.pem());
        assert_eq!(
            pem_reasons(text.as_bytes(), CERT_TAGS),
            vec![Some("x".to_string()), None]
        );
    }

    #[test]
    fn reasons_are_one_clean_bounded_line() {
        assert_eq!(reason_line("no reason here"), None);
        assert_eq!(reason_line("Reasonable: no"), None);
        assert_eq!(reason_line("Lý do: không"), None);
        assert_eq!(
            reason_line("## reason: a\u{7}b  c").unwrap().as_deref(),
            Some("a b c")
        );
        assert_eq!(clean_reason(" \n\t "), None);
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        assert_eq!(
            clean_reason(&long).unwrap().chars().count(),
            MAX_REASON_CHARS
        );
    }

    #[test]
    fn anchors_take_their_reason_from_pem_then_sidecar() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (self_signed("a"), self_signed("b"));
        // Bundle: the first block has a reason line, the second takes the sidecar's.
        std::fs::write(
            dir.path().join("bundle.pem"),
            format!("{}Reason: only b\n{}", a.pem(), b.pem()),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("bundle.reason"),
            "Bộ Tư pháp list of 2026\nsecond line\n",
        )
        .unwrap();
        // DER with a sidecar; DER without one.
        std::fs::write(dir.path().join("c.der"), self_signed("c").der()).unwrap();
        std::fs::write(dir.path().join("c.reason"), "DER root").unwrap();
        std::fs::write(dir.path().join("d.cer"), self_signed("d").der()).unwrap();
        // Hidden and unrelated files are skipped.
        std::fs::write(dir.path().join(".hidden.pem"), "garbage").unwrap();
        std::fs::write(dir.path().join("orphan.reason"), "nothing to explain").unwrap();

        let store = TrustStore::open(dir.path()).unwrap();
        let got: Vec<(String, Option<String>)> = store
            .anchors()
            .iter()
            .map(|a| (a.subject.clone(), a.reason.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "CN=a".to_string(),
                    Some("Bộ Tư pháp list of 2026 second line".to_string())
                ),
                ("CN=b".to_string(), Some("only b".to_string())),
                ("CN=c".to_string(), Some("DER root".to_string())),
                ("CN=d".to_string(), None),
            ]
        );
    }

    #[test]
    fn refresh_rereads_only_on_change_and_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = TrustStore::open(dir.path()).unwrap();
        assert_eq!(store.refresh(false).unwrap(), None, "nothing changed");
        let root = self_signed("root");
        std::fs::write(dir.path().join("root.pem"), root.pem()).unwrap();
        let r = store.refresh(false).unwrap().expect("a new file is seen");
        assert_eq!((r.added.len(), r.removed.len(), r.total), (1, 0, 1));
        assert_eq!(store.refresh(false).unwrap(), None);
        // A sidecar appearing changes the reason, not the set.
        std::fs::write(dir.path().join("root.reason"), "why").unwrap();
        let r = store.refresh(false).unwrap().expect("the sidecar is seen");
        assert!(r.added.is_empty() && r.removed.is_empty());
        assert_eq!(r.reason_changed[0].reason.as_deref(), Some("why"));
        // A broken file is reported once, naming it, and the set stays.
        std::fs::write(dir.path().join("zz.crt"), "junk").unwrap();
        let err = store.refresh(false).unwrap_err();
        assert!(err.to_string().contains("zz.crt"), "{err}");
        assert_eq!(store.refresh(false).unwrap(), None);
        assert!(
            store.refresh(true).is_err(),
            "forced: read and reported again"
        );
        assert_eq!(store.anchors().len(), 1);
        std::fs::remove_file(dir.path().join("root.pem")).unwrap();
        std::fs::remove_file(dir.path().join("zz.crt")).unwrap();
        let r = store.refresh(false).unwrap().expect("removal seen");
        assert_eq!((r.added.len(), r.removed.len(), r.total), (0, 1, 0));
        assert!(store.anchors().is_empty());
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
