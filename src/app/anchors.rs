//! The trust anchors in force for verification: the `trust.anchors` files (read at start)
//! plus the current set of `trust.anchors_dir` (re-read while the service runs), turned into
//! the verifier's policy with a label per anchor (file and reason) for the report.
//!
//! The policy is rebuilt only when the set changes, from a clone of the previous one, so the
//! verifier's memo of checked certificate and CRL signatures survives reloads (its facts do
//! not depend on the anchors). Every verification takes the policy in force when it starts.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use crate::config::TrustConfig;
use crate::error::Result;
use crate::pki::trust::{self, Anchor, Reloaded, TrustStore};
use crate::verify::{AnchorLabel, ValidationPolicy};

/// What verification trusts now, and how the anchors directory fared at its last look.
#[derive(Clone, Debug)]
pub struct TrustStatus {
    /// Every anchor in force: the configured files first, then the directory's.
    pub anchors: Vec<Anchor>,
    /// Why the last look at the anchors directory failed (the previous set stayed in force);
    /// `None` when it succeeded or there is no directory.
    pub last_error: Option<String>,
}

/// The DER certificates and their labels, for a [`ValidationPolicy`].
pub fn policy_parts(anchors: &[Anchor]) -> (Vec<Vec<u8>>, Vec<AnchorLabel>) {
    let ders = anchors.iter().map(|a| a.der.clone()).collect();
    let labels = anchors
        .iter()
        .map(|a| AnchorLabel {
            sha256: a.sha256.clone(),
            file: a.source.display().to_string(),
            reason: a.reason.clone(),
        })
        .collect();
    (ders, labels)
}

/// The verifier's policy from `anchors` (labelled), `crls` and a validation time (`None`:
/// now): the one way a policy is built, for the server (the reloadable trust in force) and `saoy verify`.
pub fn policy_of(
    anchors: &[Anchor],
    crls: Vec<Vec<u8>>,
    at: Option<SystemTime>,
) -> ValidationPolicy {
    let (ders, labels) = policy_parts(anchors);
    let mut policy = ValidationPolicy::new(ders, crls, at);
    policy.anchor_labels = labels;
    policy
}

/// The note of a report made without any trust anchor (`saoy verify` without `--trust`).
pub const NOTHING_TRUSTED: &str = "nothing was trusted: no trust anchor was given (--trust, \
     --trust-dir), so no signer can be judged trustworthy; each signature's integrity and \
     signer are still checked and reported";

/// The policy of `saoy verify`: anchors from `files` then from each of `dirs` (read once),
/// CRLs from `crl_files`, validation at `at` (`None`: now).
pub fn policy_from_files(
    files: &[PathBuf],
    dirs: &[PathBuf],
    crl_files: &[PathBuf],
    at: Option<SystemTime>,
) -> Result<ValidationPolicy> {
    let mut anchors = Vec::new();
    for path in files {
        anchors.extend(trust::load_anchors(path)?);
    }
    for dir in dirs {
        anchors.extend(TrustStore::open(dir)?.anchors().iter().cloned());
    }
    let mut crls = Vec::new();
    for path in crl_files {
        crls.extend(trust::load_crls(path)?);
    }
    Ok(policy_of(&anchors, crls, at))
}

/// Trust anchors from files and a reloadable directory, with the policy built from them.
#[derive(Debug)]
pub(crate) struct Trust {
    /// From `trust.anchors`, read once.
    files: Vec<Anchor>,
    /// `trust.anchors_dir`, when configured.
    dir: Option<TrustStore>,
    /// The policy in force.
    policy: RwLock<Arc<ValidationPolicy>>,
    /// Why the last look at the directory failed.
    last_error: Mutex<Option<String>>,
    /// Time between looks at the directory.
    interval: Option<Duration>,
    /// The CRL files (`crls`), re-read when one of them changes.
    crl_files: Vec<PathBuf>,
    /// Modification time and size of each CRL file at its last reading.
    crl_stamps: Mutex<Vec<Option<(SystemTime, u64)>>>,
}

/// Modification time and size of a file, `None` when it cannot be read.
fn stamp(path: &std::path::Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

impl Trust {
    /// Reads the configured anchor files, the anchors directory and the CRLs.
    pub(crate) fn load(config: &TrustConfig) -> Result<Self> {
        let mut files = Vec::new();
        for path in &config.anchors {
            files.extend(trust::load_anchors(path)?);
        }
        let mut crls = Vec::new();
        for path in &config.crls {
            crls.extend(trust::load_crls(path)?);
        }
        let dir = config.anchors_dir().map(TrustStore::open).transpose()?;
        let this = Trust {
            files,
            dir,
            policy: RwLock::new(Arc::new(policy_of(&[], crls, None))),
            last_error: Mutex::new(None),
            interval: config.reload_interval(),
            crl_stamps: Mutex::new(config.crls.iter().map(|p| stamp(p)).collect()),
            crl_files: config.crls.clone(),
        };
        this.rebuild_policy();
        let anchors = this.anchors();
        if anchors.is_empty() {
            tracing::warn!(
                dir = ?this.dir.as_ref().map(TrustStore::dir),
                "no trust anchors: every signature is NO_CERTIFICATE_CHAIN_FOUND until some \
                 are added to trust.anchors_dir"
            );
        }
        for a in &anchors {
            tracing::info!(
                file = %a.source.display(),
                subject = %a.subject,
                sha256 = %a.sha256,
                reason = a.reason.as_deref().unwrap_or("-"),
                "trust anchor"
            );
        }
        Ok(this)
    }

    /// The policy in force (a snapshot: a concurrent reload does not change it).
    pub(crate) fn policy(&self) -> Arc<ValidationPolicy> {
        match self.policy.read() {
            Ok(g) => Arc::clone(&g),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Every anchor in force: the files first, then the directory's.
    pub(crate) fn anchors(&self) -> Vec<Anchor> {
        let mut all = self.files.clone();
        if let Some(d) = &self.dir {
            all.extend(d.anchors().iter().cloned());
        }
        all
    }

    /// The anchors in force and the state of the directory.
    pub(crate) fn status(&self) -> TrustStatus {
        TrustStatus {
            anchors: self.anchors(),
            last_error: lock(&self.last_error).clone(),
        }
    }

    /// Time between looks at the directory; `None` when there is none to look at.
    pub(crate) fn interval(&self) -> Option<Duration> {
        if self.dir.is_none() && self.crl_files.is_empty() {
            return None;
        }
        self.interval
    }

    /// Re-reads the CRL files when one changed (always when `force`) and puts them in
    /// force; a file that cannot be read now keeps the previous CRLs (logged). Returns true
    /// when new CRLs were put in force.
    fn refresh_crls(&self, force: bool) -> bool {
        let now: Vec<_> = self.crl_files.iter().map(|p| stamp(p)).collect();
        let mut seen = lock(&self.crl_stamps);
        if !force && *seen == now {
            return false;
        }
        let mut crls = Vec::new();
        for path in &self.crl_files {
            match trust::load_crls(path) {
                Ok(found) => crls.extend(found),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "CRLs not reloaded; the previous ones stay in force");
                    return false;
                }
            }
        }
        *seen = now;
        drop(seen);
        self.replace_policy(|next| next.crls = crls);
        tracing::info!(files = self.crl_files.len(), "CRLs reloaded");
        true
    }

    /// Re-reads the anchors directory when its files changed (always when `force`), logs
    /// what changed, and puts a new policy in force. A broken directory logs an error naming
    /// the file once and keeps the previous set. Returns true when the set changed.
    pub(crate) fn refresh(&self, force: bool) -> bool {
        let crls_changed = self.refresh_crls(force);
        let Some(dir) = &self.dir else {
            return crls_changed;
        };
        match dir.refresh(force) {
            Ok(None) => false,
            Ok(Some(reloaded)) => {
                *lock(&self.last_error) = None;
                log_changes(dir, &reloaded);
                if reloaded.is_unchanged() {
                    return false;
                }
                self.rebuild_policy();
                true
            }
            Err(e) => {
                tracing::error!(
                    dir = %dir.dir().display(),
                    error = %e,
                    "trust anchors not reloaded; the previous set stays in force"
                );
                *lock(&self.last_error) = Some(e.to_string());
                false
            }
        }
    }

    /// Puts a policy with the current anchors in force, sharing the previous one's memo.
    fn rebuild_policy(&self) {
        let (ders, labels) = policy_parts(&self.anchors());
        self.replace_policy(|next| {
            next.trust_anchors = ders;
            next.anchor_labels = labels;
        });
    }

    /// Puts in force a copy of the policy with `change` made (the copy keeps the memo).
    fn replace_policy(&self, change: impl FnOnce(&mut ValidationPolicy)) {
        let mut guard = match self.policy.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next = ValidationPolicy::clone(&guard);
        change(&mut next);
        *guard = Arc::new(next);
    }
}

fn log_changes(dir: &TrustStore, r: &Reloaded) {
    for a in &r.added {
        tracing::info!(
            file = %a.source.display(),
            subject = %a.subject,
            sha256 = %a.sha256,
            reason = a.reason.as_deref().unwrap_or("-"),
            "trust anchor added"
        );
    }
    for a in &r.removed {
        tracing::info!(
            file = %a.source.display(),
            subject = %a.subject,
            sha256 = %a.sha256,
            "trust anchor removed"
        );
    }
    for a in &r.reason_changed {
        tracing::info!(
            file = %a.source.display(),
            sha256 = %a.sha256,
            reason = a.reason.as_deref().unwrap_or("-"),
            "trust anchor reason changed"
        );
    }
    if r.is_unchanged() {
        tracing::debug!(dir = %dir.dir().display(), "trust anchors re-read: no change");
    } else {
        tracing::info!(
            dir = %dir.dir().display(),
            anchors = r.total,
            "trust anchors reloaded"
        );
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CRL file replaced while the service runs is put in force at the next look, and a
    /// file that turns unreadable keeps the previous CRLs.
    #[test]
    fn changed_crl_files_are_reloaded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("certs-test");
        let dir = tempfile::tempdir().unwrap();
        let crl = dir.path().join("client-ca.crl");
        std::fs::copy(root.join("tls/ca.crl"), &crl).unwrap();
        let config = TrustConfig {
            anchors: vec![root.join("tls/ca.pem")],
            crls: vec![crl.clone()],
            ..TrustConfig::default()
        };
        let trust = Trust::load(&config).unwrap();
        assert!(trust.interval().is_some(), "CRL files alone are watched");
        let first = trust.policy().crls.clone();
        assert!(!trust.refresh(false), "nothing changed");
        std::fs::copy(root.join("issuing-ca.crl"), &crl).unwrap();
        assert!(trust.refresh(false), "the new CRL is read");
        let second = trust.policy().crls.clone();
        assert_ne!(first, second);
        assert_eq!(
            second,
            vec![std::fs::read(root.join("issuing-ca.crl")).unwrap()]
        );
        std::fs::write(&crl, b"not a CRL").unwrap();
        assert!(!trust.refresh(false));
        assert_eq!(
            trust.policy().crls,
            second,
            "the previous CRLs stay in force"
        );
    }
}
