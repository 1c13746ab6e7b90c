//! PDF signature validation in the ETSI EN 319 102-1 model. Shares nothing with `sign`: it
//! re-parses the bytes like a stranger would.
//!
//! For each signature: /ByteRange sanity → CMS decode → message digest and signature value →
//! signing-certificate binding → time-stamp → path to the trust anchors (RFC 5280 §6:
//! signatures, names and name constraints, basicConstraints, keyUsage, policies; see
//! [`x509::validate_path`], the same validator as a public function) → validity → revocation
//! (CRLs with their scope, OCSP) → modifications made after signing.
//!
//! Policy decisions (documented in the report's checks):
//! - changes after a signature that are not allowed (see `pdf::diff`) make it
//!   INDETERMINATE/SIG_CONSTRAINTS_FAILURE with `modified_after_signing` true;
//! - a certificate without any usable CRL or OCSP response is not checked for revocation
//!   (soft fail, noted); revocation data that cannot be used is ignored and noted;
//! - SHA-1 and RSA below 2048 bits give at best INDETERMINATE/CRYPTO_CONSTRAINTS_FAILURE;
//! - a signing certificate revoked at or before the claimed signing time (and not covered by
//!   a trusted earlier time-stamp) gives FAILED/REVOKED; revoked later, INDETERMINATE/REVOKED_NO_POE.

mod asn1;
mod cms;
mod context;
mod crypto;
mod document;
mod pdf;
mod report;
mod signature;
pub mod x509;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub use report::{
    AnchorLabel, Block, BlockResult, Check, CheckName, Indication, ModificationLevel, Report,
    RevisionReport, SignatureMaterial, SignatureReport, SignerSummary, SubIndication,
    TrustAnchorInfo,
};

pub use report::etsi_xml::ETSI_VR_NAMESPACE;

use document::verify_inner;
use pdf::xref_reader;
pub use pdf::xref_reader::{FileSource, Mem, Source};
use x509::certs;

/// What the verifier trusts and when it validates.
///
/// Build it once with [`ValidationPolicy::new`] and reuse it: it remembers which certificates
/// and CRLs were found validly signed by which keys (by SHA-256 of both, at most a few
/// thousand), so a chain and CRLs seen before cost no public-key operation. Only those
/// time-independent facts are remembered; validity periods, CRL freshness and revocation are
/// judged at every verification. Clones share the memo; changing the public fields keeps it
/// valid, as its facts do not depend on them.
#[derive(Debug, Clone, Default)]
pub struct ValidationPolicy {
    /// DER certificates; only these are trusted.
    pub trust_anchors: Vec<Vec<u8>>,
    /// DER CRLs used for revocation checks.
    pub crls: Vec<Vec<u8>>,
    /// The validation time; `None` means now.
    pub validation_time: Option<SystemTime>,
    /// Where each trust anchor comes from and why it is trusted, shown in the report.
    pub anchor_labels: Vec<AnchorLabel>,
    memo: crypto::SignatureMemo,
    /// The trust anchors parsed, kept while `trust_anchors` stays the same.
    parsed_anchors: certs::ParsedAnchors,
}

impl ValidationPolicy {
    /// A policy trusting `trust_anchors` (DER), checking revocation against `crls` (DER), at
    /// `validation_time` (`None`: the time of each verification).
    pub fn new(
        trust_anchors: Vec<Vec<u8>>,
        crls: Vec<Vec<u8>>,
        validation_time: Option<SystemTime>,
    ) -> Self {
        ValidationPolicy {
            trust_anchors,
            crls,
            validation_time,
            anchor_labels: Vec::new(),
            memo: crypto::SignatureMemo::default(),
            parsed_anchors: certs::ParsedAnchors::default(),
        }
    }

    /// How many certificate and CRL signature checks this policy remembers (for tests).
    #[doc(hidden)]
    pub fn remembered_signatures(&self) -> usize {
        self.memo.len()
    }
}

/// Validates every signature of `pdf`. Never panics and never errors: a bad file yields a
/// FAILED or INDETERMINATE report.
pub fn verify_pdf(pdf: &[u8], policy: &ValidationPolicy) -> Report {
    verify_source(&xref_reader::Mem(pdf), policy)
}

/// Validates the PDF file at `path` by streaming it: the byte ranges are hashed in chunks
/// and only the objects the checks need are read. Errors only when the file cannot be opened.
pub fn verify_file(path: &Path, policy: &ValidationPolicy) -> std::io::Result<Report> {
    let src = FileSource::open(path)?;
    Ok(verify_source(&src, policy))
}

/// Largest file loaded whole when the lazy reader cannot handle it (damaged or unusual files).
const MAX_FALLBACK: u64 = 1 << 30;

/// Validates every signature of the PDF in `src` (see [`verify_pdf`]).
pub fn verify_source(src: &dyn Source, policy: &ValidationPolicy) -> Report {
    let run = || match verify_inner(src, None, policy) {
        Some(r) => r,
        None => {
            // The lazy reader could not judge the file: load it whole with lopdf.
            let owned;
            let bytes = match src.as_slice() {
                Some(b) => b,
                None if src.len() <= MAX_FALLBACK => {
                    owned = src.bytes(0, src.len() as usize).map(|c| c.into_owned());
                    match owned.as_deref() {
                        Some(b) if b.len() as u64 == src.len() => b,
                        _ => {
                            return Report::document_failure(
                                Indication::Indeterminate,
                                SubIndication::FormatFailure,
                                "the file could not be read",
                            );
                        }
                    }
                }
                None => {
                    return Report::document_failure(
                        Indication::Indeterminate,
                        SubIndication::FormatFailure,
                        "the file's structure needs repair and it is too large to repair",
                    );
                }
            };
            // A file whose header was overwritten is still read (as other validators do):
            // the parser sees a header in place of its first line, the digests the real bytes.
            let patched = without_header(bytes).then(|| with_header(bytes)).flatten();
            let bytes = patched.as_deref().unwrap_or(bytes);
            verify_inner(src, Some(bytes), policy).unwrap_or_else(|| {
                Report::document_failure(
                    Indication::Indeterminate,
                    SubIndication::FormatFailure,
                    "internal error: the verifier could not process this file",
                )
            })
        }
    };
    match catch_unwind(AssertUnwindSafe(|| crypto::memo_scope(&policy.memo, run))) {
        Ok(mut r) => {
            r.label_anchors(&policy.anchor_labels);
            if r.validation_time.is_none() {
                let now = policy.validation_time.unwrap_or_else(SystemTime::now);
                r.validation_time = Some(fmt_time(unix(now)));
            }
            r
        }
        Err(_) => Report::document_failure(
            Indication::Indeterminate,
            SubIndication::FormatFailure,
            "internal error: the verifier could not process this file",
        ),
    }
}

/// True when the first KiB of `bytes` holds no `%PDF-` header.
fn without_header(bytes: &[u8]) -> bool {
    !bytes
        .get(..bytes.len().min(1024))
        .unwrap_or_default()
        .windows(5)
        .any(|w| w == b"%PDF-")
}

/// A copy of `bytes` whose first line (at least 8 bytes long) is replaced by a `%PDF-1.7`
/// header padded with spaces, so that every offset stays the same; `None` if the line is short
/// or the file over 64 MiB.
fn with_header(bytes: &[u8]) -> Option<Vec<u8>> {
    const HEADER: &[u8] = b"%PDF-1.7";
    let eol = bytes
        .iter()
        .take(1024)
        .position(|b| matches!(b, b'\r' | b'\n'))?;
    // A second copy is made only of files small enough to hold twice.
    if eol < HEADER.len() || bytes.len() > 64 << 20 {
        return None;
    }
    let mut out = bytes.to_vec();
    out[..HEADER.len()].copy_from_slice(HEADER);
    out[HEADER.len()..eol].fill(b' ');
    Some(out)
}

/// RFC 3339 form of Unix seconds.
pub(crate) fn fmt_time(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

fn unix(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use crate::cms::{signed_data, signer};
    use crate::pdf::{diff, objects, revisions};
    use crate::x509::certs;
    use std::rc::Rc;

    /// Loads `data` as a PDF, finds its signatures and classifies its revisions.
    pub fn pdf(data: &[u8]) {
        if let Ok(doc) = objects::load(data) {
            let found = objects::find_signatures(&doc);
            for f in &found {
                let _ = objects::docmdp_permission(&doc, &f.dict);
            }
            let ends = revisions::ends(&crate::pdf::xref_reader::Mem(data));
            let _ = revisions::classify(
                &ends,
                data.len(),
                &mut |e| {
                    data.get(..e)
                        .and_then(|p| objects::load(p).ok())
                        .map(Rc::new)
                },
                &mut |a, b| diff::compare(a.1, b.1).level(),
                &doc,
            );
        }
    }

    /// Decodes `data` as CMS SignedData and checks its SignerInfos over fixed content.
    pub fn cms(data: &[u8]) {
        if let Ok((sd, _)) = signed_data::parse_signed_data(data) {
            let pool = certs::parse_all(sd.certificates.iter().copied());
            for si in sd.signer_infos.iter().take(4) {
                let _ = signer::check(&sd, si, &[b"fuzz".as_slice()][..], &pool);
            }
        }
    }
}

/// What [`check_timestamp_token`] found in one RFC 3161 time-stamp token.
#[derive(Debug, Clone, Default)]
pub struct TimestampTokenCheck {
    /// genTime (Unix seconds), when the TSTInfo could be read.
    pub gen_time: Option<i64>,
    /// The message imprint is the hash of the time-stamped data.
    pub imprint_ok: bool,
    /// The token's signature verifies with the TSA certificate it names.
    pub signature_ok: bool,
    /// The TSA certificate has a valid path to a trust anchor, now, for time-stamping
    /// (keyUsage and extKeyUsage id-kp-timeStamping).
    pub trusted: bool,
    /// DER of the TSA certificate, when found.
    pub tsa_certificate: Option<Vec<u8>>,
    /// What failed, for people.
    pub notes: Vec<String>,
}

impl TimestampTokenCheck {
    /// True when the token can be relied on: imprint, signature and TSA path all check.
    pub fn is_good(&self) -> bool {
        self.imprint_ok && self.signature_ok && self.trusted
    }
}

/// Checks a time-stamp token (DER ContentInfo) over `data` with the same code that judges
/// the time-stamps of PDF signatures: imprint, the token's signature, and the TSA
/// certificate's path to `trust_anchors` (DER) for time-stamping. Never panics: a token
/// that cannot be read is a check with notes.
pub fn check_timestamp_token(
    token: &[u8],
    data: &[u8],
    trust_anchors: &[Vec<u8>],
) -> TimestampTokenCheck {
    let run = || {
        let anchors = certs::parse_all(trust_anchors.iter().map(Vec::as_slice));
        let c = cms::timestamp::check(token, &[data][..], &[], &anchors);
        TimestampTokenCheck {
            gen_time: c.gen_time,
            imprint_ok: c.imprint_ok,
            signature_ok: c.signature_ok,
            trusted: c.trusted,
            tsa_certificate: c.tsa.map(|t| t.raw),
            notes: c.notes,
        }
    };
    catch_unwind(AssertUnwindSafe(run)).unwrap_or_else(|_| TimestampTokenCheck {
        notes: vec!["the time-stamp token could not be read".into()],
        ..TimestampTokenCheck::default()
    })
}
