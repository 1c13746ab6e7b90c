//! PDF signature validation in the ETSI EN 319 102-1 model. Shares nothing with `sign`: it
//! re-parses the bytes like a stranger would.
//!
//! For each signature: /ByteRange sanity → CMS decode → message digest and signature value →
//! signing-certificate binding → time-stamp → path to the trust anchors (signatures, validity,
//! basicConstraints, keyUsage) → revocation (CRLs, OCSP) → modifications made after signing.
//!
//! Policy decisions (documented in the report's checks):
//! - changes after a signature that are not allowed (see [`diff`]) make it
//!   INDETERMINATE/SIG_CONSTRAINTS_FAILURE with `modified_after_signing` true;
//! - a certificate without any usable CRL or OCSP response is not checked for revocation
//!   (soft fail, noted); revocation data that cannot be used is ignored and noted;
//! - SHA-1 and RSA below 2048 bits give at best INDETERMINATE/CRYPTO_CONSTRAINTS_FAILURE;
//! - a signing certificate revoked at or before the claimed signing time (and not covered by
//!   a trusted earlier time-stamp) gives FAILED/REVOKED; revoked later, INDETERMINATE/REVOKED_NO_POE.

mod asn1;
mod cms;
mod crypto;
mod pdf;
mod report;
mod x509;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use lopdf::{Document, Object};

pub use report::{
    AnchorLabel, Block, BlockResult, Check, CheckName, Indication, ModificationLevel, Report,
    RevisionReport, SignatureMaterial, SignatureReport, SignerSummary, SubIndication,
    TrustAnchorInfo,
};

pub use report::etsi_xml::ETSI_VR_NAMESPACE;

use cms::{signed_data, signer, timestamp};
use crypto::Signed;
use pdf::byterange::{self, ByteRange};
pub use pdf::xref_reader::{FileSource, Mem, Source};
use pdf::{accounting, diff, objects, revisions, xref_reader};
use x509::certs::CertInfo;
use x509::revocation::RevocationStatus;
use x509::{certs, path, revocation};

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

/// Validation data gathered once per document.
struct Context<'a> {
    src: &'a dyn Source,
    doc: &'a Document,
    docs: &'a Docs<'a>,
    anchors: std::sync::Arc<Vec<CertInfo>>,
    extra_certs: Vec<CertInfo>,
    crls: Vec<Vec<u8>>,
    /// OCSP responses from /DSS (DER).
    ocsps: Vec<Vec<u8>>,
    now: i64,
    /// Why the cross-reference data cannot be trusted, if lopdf had to rebuild it.
    xref_repaired: Option<String>,
    /// Every later revision, classified against the one before it.
    revisions: Vec<RevisionReport>,
    /// What the document's certification signature (DocMDP) permits after signing.
    permitted: ModificationLevel,
    /// Digest states of the file's first bytes, shared by nested signatures.
    prefixes: xref_reader::Prefixes,
    /// Comparisons already made, by (earlier end, later end): revision classification and
    /// each signature's modification check ask for some of the same ones.
    diffs: Diffs,
    /// Where each revision ends (after `%%EOF` and its end of line).
    revision_ends: Vec<usize>,
}

/// Remembered document comparisons, keyed by the two revision ends.
#[derive(Default)]
struct Diffs(RefCell<HashMap<(usize, usize), Rc<diff::DiffResult>>>);

impl Diffs {
    /// The changes from `a` to `b` (each: revision end, document), compared once.
    fn between(&self, a: (usize, &Document), b: (usize, &Document)) -> Rc<diff::DiffResult> {
        if let Some(r) = self.0.borrow().get(&(a.0, b.0)) {
            return r.clone();
        }
        let r = Rc::new(diff::compare(a.1, b.1));
        self.0.borrow_mut().insert((a.0, b.0), r.clone());
        r
    }
}

/// The document at each revision end, read lazily (or with lopdf from `full`), cached.
struct Docs<'a> {
    lazy: Option<xref_reader::Reader<'a>>,
    full: Option<&'a [u8]>,
    cache: RefCell<HashMap<usize, Result<Rc<Document>, objects::PdfError>>>,
    /// The lazy reader met something it leaves to lopdf: the verification is redone.
    failed: Cell<bool>,
}

impl Docs<'_> {
    fn at(&self, end: usize) -> Result<Rc<Document>, objects::PdfError> {
        if let Some(d) = self.cache.borrow().get(&end) {
            return d.clone();
        }
        let d = match (&self.lazy, self.full) {
            (Some(r), _) => match r.document(end as u64) {
                Ok(d) => Ok(Rc::new(d)),
                Err(xref_reader::LazyError::Encrypted) => Err(objects::PdfError::Encrypted),
                Err(xref_reader::LazyError::Fallback(m)) => {
                    self.failed.set(true);
                    Err(objects::PdfError::Parse(m))
                }
            },
            (None, Some(full)) => match full.get(..end) {
                Some(prefix) => objects::load(prefix).map(Rc::new),
                None => Err(objects::PdfError::Parse(
                    "beyond the end of the file".into(),
                )),
            },
            (None, None) => Err(objects::PdfError::Parse("no source".into())),
        };
        self.cache.borrow_mut().insert(end, d.clone());
        d
    }
}

/// Per-signature facts used after all signatures are checked (levels).
struct Done {
    report: SignatureReport,
    end: Option<usize>,
    doc_ts_ok: bool,
    is_doc_ts: bool,
    sig_ts_ok: bool,
}

/// `None` when the lazy reader (used when `full` is `None`) leaves the file to lopdf.
fn verify_inner(
    src: &dyn Source,
    full: Option<&[u8]>,
    policy: &ValidationPolicy,
) -> Option<Report> {
    let head = src.bytes(0, 1024).unwrap_or_default();
    // Without a header the file is not a PDF; its signatures are still read and reported
    // (other validators read such files), each FAILED / FORMAT_FAILURE.
    const NO_HEADER: &str = "not a PDF file (no %PDF- header)";
    let no_header = !head.windows(5).any(|w| w == b"%PDF-");
    if no_header && full.is_none() {
        return None;
    }
    let len = usize::try_from(src.len()).ok()?;
    let docs = Docs {
        lazy: match full {
            Some(_) => None,
            None => Some(xref_reader::Reader::new(src).ok()?),
        },
        full,
        cache: RefCell::default(),
        failed: Cell::new(false),
    };
    let doc = match docs.at(len) {
        Ok(d) => d,
        Err(_) if docs.failed.get() => return None,
        Err(e @ objects::PdfError::Encrypted) => {
            return Some(Report::document_failure(
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                e.to_string(),
            ));
        }
        Err(_) if no_header => {
            return Some(Report::document_failure(
                Indication::Failed,
                SubIndication::FormatFailure,
                NO_HEADER,
            ));
        }
        Err(e) => {
            return Some(Report::document_failure(
                Indication::Failed,
                SubIndication::FormatFailure,
                e.to_string(),
            ));
        }
    };
    let doc: &Document = &doc;
    let mut messages = Vec::new();
    let (dss_certs, dss_crls, dss_ocsps) = dss_data(doc, docs.lazy.as_ref());
    let mut crls = policy.crls.clone();
    crls.extend(dss_crls);
    let revision_ends = revisions::ends(src);
    let found = every_signature(doc, &docs, &revision_ends, len);
    if docs.failed.get() {
        return None;
    }
    let docmdp = found
        .iter()
        .find_map(|f| objects::docmdp_permission(f.doc(doc), &f.found.dict));
    let xref_repaired = match doc.xref_recovery {
        Some(lopdf::xref::XrefRecovery::Reconstructed) => Some(
            "the cross-reference data is damaged or hides objects; the object table had to be rebuilt by scanning the file".to_string(),
        ),
        _ => None,
    };
    if let Some(m) = &xref_repaired {
        messages.push(m.clone());
    }
    let diffs = Diffs::default();
    let revisions = if found.is_empty() {
        Vec::new()
    } else {
        let ends: &[usize] = &revision_ends;
        revisions::classify(
            ends,
            len,
            &mut |e| docs.at(e).ok(),
            &mut |a, b| diffs.between(a, b).level(),
            doc,
        )
    };
    let ctx = Context {
        src,
        doc,
        docs: &docs,
        anchors: policy.parsed_anchors.get(&policy.trust_anchors),
        extra_certs: certs::parse_all(dss_certs.iter().map(Vec::as_slice)),
        crls,
        ocsps: dss_ocsps,
        now: unix(policy.validation_time.unwrap_or_else(SystemTime::now)),
        xref_repaired,
        revisions,
        permitted: match docmdp {
            Some(3) => ModificationLevel::Annotations,
            Some(2) => ModificationLevel::FormFilling,
            _ => ModificationLevel::SignaturesAndValidationData,
        },
        prefixes: xref_reader::Prefixes::new(
            found
                .iter()
                .filter_map(|f| first_range_len(f.doc(doc), &f.found.dict))
                .collect(),
        ),
        diffs,
        revision_ends,
    };
    if ctx.anchors.len() < policy.trust_anchors.len() {
        messages.push("some trust anchors could not be parsed and were ignored".into());
    }
    if docs.failed.get() {
        return None;
    }
    let mut done: Vec<Done> = found
        .iter()
        .map(|f| verify_one(&ctx, &f.found, f.doc(doc)))
        .collect();
    if docs.failed.get() {
        return None;
    }
    done.sort_by_key(|d| d.end.unwrap_or(usize::MAX));
    let strict;
    let reader = match docs.lazy.as_ref() {
        Some(r) => Some(r),
        None => {
            strict = xref_reader::Reader::new(src).ok();
            strict.as_ref()
        }
    };
    account_for_every_byte(src, reader, &ctx.revision_ends, &mut done, &mut messages);
    if no_header {
        for d in done.iter_mut() {
            d.report.fail(
                CheckName::FileStructure,
                Indication::Failed,
                SubIndication::FormatFailure,
                NO_HEADER,
            );
        }
        messages.push(NO_HEADER.into());
    }
    enforce_no_changes(&mut done);
    assign_levels(&mut done, doc);
    let mut report = Report::from_signatures(
        done.into_iter()
            .map(|mut d| {
                d.report.compute_blocks();
                d.report
            })
            .collect(),
        messages,
    );
    report.validation_time = Some(fmt_time(ctx.now));
    Some(report)
}

/// A signature found in the current document or in an earlier revision.
struct Candidate {
    found: objects::FoundSignature,
    /// The document of the revision it was found in; `None`: the current one.
    revision: Option<Rc<Document>>,
}

impl Candidate {
    /// The document its references resolve in.
    fn doc<'a>(&'a self, current: &'a Document) -> &'a Document {
        self.revision.as_deref().unwrap_or(current)
    }
}

/// The /ByteRange of a signature dictionary, when every element is an integer.
fn ranges_of(doc: &Document, d: &lopdf::Dictionary) -> Option<Vec<i64>> {
    match objects::get(doc, d, b"ByteRange") {
        Some(Object::Array(a)) => a
            .iter()
            .map(|o| match objects::resolve(doc, o) {
                Some(Object::Integer(i)) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// Every signature that exists: each signed field of the current document and of the earlier
/// revisions read (as many as [`revisions::MAX_REVISIONS`]), and each live signature
/// dictionary of those documents that no field holds. A field is listed once (the same name
/// and /ByteRange in several revisions), as in the newest revision holding it; two fields that
/// hold one dictionary are two signatures, as in other validators.
fn every_signature(
    current: &Document,
    docs: &Docs<'_>,
    ends: &[usize],
    len: usize,
) -> Vec<Candidate> {
    type FieldKey = (String, Option<Vec<i64>>, Option<String>);
    let mut out: Vec<Candidate> = Vec::new();
    let mut fields: std::collections::HashSet<FieldKey> = std::collections::HashSet::new();
    let mut ranges: std::collections::HashSet<Vec<i64>> = std::collections::HashSet::new();
    let mut add = |doc: &Document, revision: Option<&Rc<Document>>, out: &mut Vec<Candidate>| {
        for f in objects::find_signatures(doc) {
            let r = ranges_of(doc, &f.dict).filter(|_| f.broken.is_none());
            if let Some(r) = &r {
                ranges.insert(r.clone());
            }
            if fields.insert((f.field.clone(), r, f.broken.clone())) {
                out.push(Candidate {
                    found: f,
                    revision: revision.cloned(),
                });
            }
        }
    };
    add(current, None, &mut out);
    let earlier: Vec<Rc<Document>> = ends
        .iter()
        .rev()
        .filter(|e| **e < len)
        .take(revisions::MAX_REVISIONS)
        .filter_map(|&end| docs.at(end).ok())
        .collect();
    for d in &earlier {
        add(d, Some(d), &mut out);
    }
    // Dictionaries no field holds, newest first.
    let all = std::iter::once((current, None)).chain(earlier.iter().map(|d| (&**d, Some(d))));
    for (doc, revision) in all {
        for (id, d) in objects::live_signature_dicts(doc) {
            let new = match ranges_of(doc, d) {
                Some(r) => ranges.insert(r),
                // A malformed /ByteRange: reported unless a field holds this very dictionary.
                None => !out.iter().any(|c| c.found.dict == *d),
            };
            if new {
                out.push(Candidate {
                    found: objects::FoundSignature {
                        field: format!(
                            "(signature dictionary {} {} R without a field)",
                            id.0, id.1
                        ),
                        field_id: None,
                        dict: d.clone(),
                        broken: None,
                    },
                    revision: revision.cloned(),
                });
            }
        }
    }
    out
}

/// Most `/ByteRange` occurrences looked at when scanning the bytes.
const MAX_SCANNED: usize = 10_000;
/// Most signature entries added for unreachable signature dictionaries.
const MAX_UNREACHABLE: usize = 64;

/// Holds the bytes after the last signed revision against [`accounting`]: an unreadable later
/// revision makes every signature INDETERMINATE / FORMAT_FAILURE, and a signature dictionary
/// in such bytes (or in an object no cross-reference entry names) is reported as a signature
/// that is FAILED / FORMAT_FAILURE. Signature dictionaries found by scanning the signed bytes
/// that no reported signature accounts for are noted.
fn account_for_every_byte(
    src: &dyn Source,
    reader: Option<&xref_reader::Reader<'_>>,
    ends: &[usize],
    done: &mut Vec<Done>,
    messages: &mut Vec<String>,
) {
    let len = src.len();
    let signed_end = done.iter().filter_map(|d| d.end).max().map(|e| e as u64);
    let hits = xref_reader::find_all(src, b"/ByteRange", MAX_SCANNED);
    let acc = match (signed_end, reader) {
        (Some(e), Some(r)) => accounting::account(src, r, ends, e),
        (Some(e), None) if e + 2 >= len => accounting::Account::default(),
        (Some(e), None) => accounting::Account {
            unreadable: vec![accounting::Unreadable {
                start: e,
                end: len,
                why: "the file does not start with %PDF- at byte 0, so the offsets of its later revisions cannot be checked".into(),
            }],
            ..Default::default()
        },
        (None, _) if done.is_empty() => accounting::Account {
            unreadable: vec![accounting::Unreadable {
                start: 0,
                end: len,
                why: "no signature is reachable from the file's structure".into(),
            }],
            ..Default::default()
        },
        (None, _) => accounting::Account::default(),
    };
    for u in &acc.unreadable {
        let m = u.describe();
        for d in done.iter_mut() {
            d.report.fail(
                CheckName::FileStructure,
                Indication::Indeterminate,
                SubIndication::FormatFailure,
                m.clone(),
            );
        }
        messages.push(m);
    }
    messages.extend(acc.notes.iter().cloned());
    let tail_start = signed_end.unwrap_or(0);
    let before = hits.iter().filter(|p| **p < tail_start).count();
    let signed = done.iter().filter(|d| d.end.is_some()).count();
    if before > signed {
        messages.push(format!(
            "the signed bytes hold {before} /ByteRange entries but {signed} signature(s) were read: the others are in replaced or unreferenced objects, covered by the signatures that follow them"
        ));
    }
    let unreachable: Vec<u64> = hits
        .iter()
        .copied()
        .filter(|p| acc.is_unaccounted(*p))
        .collect();
    for p in unreachable.iter().take(MAX_UNREACHABLE) {
        let mut r = SignatureReport::new(format!("(signature dictionary at byte {p})"));
        r.fail(
            CheckName::SignatureDictionary,
            Indication::Failed,
            SubIndication::FormatFailure,
            format!(
                "a signature dictionary (/ByteRange at byte {p}) lies in bytes that cannot be read, or in an object that no cross-reference entry names: it cannot be verified"
            ),
        );
        done.push(Done {
            report: r,
            end: None,
            doc_ts_ok: false,
            is_doc_ts: false,
            sig_ts_ok: false,
        });
    }
    if unreachable.len() > MAX_UNREACHABLE {
        messages.push(format!(
            "{} more unreachable signature dictionaries are not listed",
            unreachable.len() - MAX_UNREACHABLE
        ));
    }
}

/// DocMDP P=1: after a certification signature that forbids changes, only document
/// time-stamps and validation data may follow; another signature is a violation.
fn enforce_no_changes(done: &mut [Done]) {
    let Some(cert_end) = done
        .iter()
        .find(|d| d.report.docmdp_permission == Some(1))
        .and_then(|d| d.end)
    else {
        return;
    };
    let later: Vec<String> = done
        .iter()
        .filter(|d| !d.is_doc_ts && d.end.is_some_and(|e| e > cert_end))
        .map(|d| d.report.field.clone())
        .collect();
    if later.is_empty() {
        return;
    }
    if let Some(c) = done
        .iter_mut()
        .find(|d| d.report.docmdp_permission == Some(1))
    {
        c.report.modified_after_signing = true;
        c.report.fail(
            CheckName::Docmdp,
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            format!(
                "the certification signature allows no changes (DocMDP P=1), yet {} was signed later",
                later.join(", ")
            ),
        );
    }
}

/// (certificates, CRLs, OCSP responses) of the /DSS dictionary, DER.
type DssData = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<Vec<u8>>);

fn dss_data(doc: &Document, lazy: Option<&xref_reader::Reader<'_>>) -> DssData {
    let mut certs = Vec::new();
    let mut crls = Vec::new();
    let mut ocsps = Vec::new();
    let Some(dss) = objects::catalog(doc)
        .and_then(|c| c.get(b"DSS").ok())
        .and_then(|d| objects::as_dict(doc, d))
    else {
        return (certs, crls, ocsps);
    };
    for s in revocation::dss_ocsp_streams(doc, dss) {
        if let Some(bytes) = match lazy {
            Some(r) => r.stream_bytes(s),
            None => objects::stream_bytes(s),
        } {
            ocsps.push(bytes);
        }
    }
    for (key, out) in [
        (b"Certs".as_slice(), &mut certs),
        (b"CRLs".as_slice(), &mut crls),
    ] {
        if let Some(Object::Array(a)) = objects::get(doc, dss, key) {
            for o in a.iter().take(2000) {
                if let Some(Object::Stream(s)) = objects::resolve(doc, o)
                    && let Some(bytes) = match lazy {
                        Some(r) => r.stream_bytes(s),
                        None => objects::stream_bytes(s),
                    }
                {
                    out.push(bytes);
                }
            }
        }
    }
    (certs, crls, ocsps)
}

/// The length of the first range of a signature's /ByteRange `[0 n ...]`, if it has that form
/// (only a hint for sharing digest work: the range is checked where it is used).
fn first_range_len(doc: &Document, d: &lopdf::Dictionary) -> Option<u64> {
    let Some(Object::Array(a)) = objects::get(doc, d, b"ByteRange") else {
        return None;
    };
    let int = |i: usize| match a.get(i).and_then(|o| objects::resolve(doc, o)) {
        Some(Object::Integer(v)) => u64::try_from(*v).ok(),
        _ => None,
    };
    (int(0) == Some(0)).then(|| int(1)).flatten()
}

fn pdf_date(s: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(s).ok()?;
    let s = s.strip_prefix("D:").unwrap_or(s);
    let num = |a: usize, b: usize, d: i64| -> Option<i64> {
        match s.get(a..b) {
            Some(x) if !x.is_empty() => x.parse().ok(),
            _ => Some(d),
        }
    };
    let year = i32::try_from(num(0, 4, -1)?).ok().filter(|y| *y > 0)?;
    let month = time::Month::try_from(u8::try_from(num(4, 6, 1)?).ok()?).ok()?;
    let date =
        time::Date::from_calendar_date(year, month, u8::try_from(num(6, 8, 1)?).ok()?).ok()?;
    let tod = time::Time::from_hms(
        u8::try_from(num(8, 10, 0)?).ok()?,
        u8::try_from(num(10, 12, 0)?).ok()?,
        u8::try_from(num(12, 14, 0)?.min(59)).ok()?,
    )
    .ok()?;
    let mut secs = time::PrimitiveDateTime::new(date, tod)
        .assume_utc()
        .unix_timestamp();
    if let Some(sign) = s.get(14..15) {
        let oh = s
            .get(15..17)
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0);
        let om = s
            .get(18..20)
            .and_then(|x| x.parse::<i64>().ok())
            .unwrap_or(0);
        match sign {
            "+" => secs -= oh * 3600 + om * 60,
            "-" => secs += oh * 3600 + om * 60,
            _ => {}
        }
    }
    Some(secs)
}

fn verify_one(ctx: &Context<'_>, f: &objects::FoundSignature, doc: &Document) -> Done {
    let mut r = SignatureReport::new(f.field.clone());
    let mut done_end = None;
    let d = &f.dict;
    let sub_filter =
        objects::get_name(doc, d, b"SubFilter").map(|n| String::from_utf8_lossy(n).into_owned());
    let is_doc_ts = objects::get_name(doc, d, b"Type") == Some(b"DocTimeStamp")
        || sub_filter.as_deref() == Some("ETSI.RFC3161");
    let mut out = Done {
        report: SignatureReport::new(String::new()),
        end: None,
        doc_ts_ok: false,
        is_doc_ts,
        sig_ts_ok: false,
    };
    let finish = |mut out: Done, r: SignatureReport, end: Option<usize>| {
        out.report = r;
        out.end = end;
        out
    };
    if let Some(why) = &f.broken {
        r.fail(
            CheckName::SignatureDictionary,
            Indication::Failed,
            SubIndication::FormatFailure,
            why.clone(),
        );
        return finish(out, r, None);
    }
    if let Some(Object::String(m, _)) = objects::get(doc, d, b"M") {
        r.signing_time = pdf_date(m).map(fmt_time);
    }
    r.docmdp_permission = objects::docmdp_permission(doc, d);
    r.ok(
        CheckName::ValidationContext,
        format!(
            "{} trust anchor(s), {} CRL(s), {} OCSP response(s) and {} extra certificate(s) from /DSS, validation time {}",
            ctx.anchors.len(),
            ctx.crls.len(),
            ctx.ocsps.len(),
            ctx.extra_certs.len(),
            fmt_time(ctx.now)
        ),
    );
    if let Some(m) = &ctx.xref_repaired {
        r.fail(
            CheckName::Xref,
            Indication::Indeterminate,
            SubIndication::FormatFailure,
            m.clone(),
        );
    }
    match sub_filter.as_deref() {
        Some(
            "adbe.pkcs7.detached"
            | "ETSI.CAdES.detached"
            | "ETSI.RFC3161"
            | "PBAD.PAdES"
            | "adbe.pkcs7.sha1",
        ) => {
            r.ok(CheckName::SubFilter, sub_filter.clone().unwrap_or_default());
        }
        other => {
            r.fail(
                CheckName::SubFilter,
                Indication::Indeterminate,
                SubIndication::SigConstraintsFailure,
                format!("unsupported /SubFilter {}", other.unwrap_or("(none)")),
            );
            return finish(out, r, None);
        }
    }
    // /ByteRange
    let br_vals: Option<Vec<i64>> = match objects::get(doc, d, b"ByteRange") {
        Some(Object::Array(a)) => a
            .iter()
            .map(|o| match objects::resolve(doc, o) {
                Some(Object::Integer(i)) => Some(*i),
                _ => None,
            })
            .collect(),
        _ => None,
    };
    let br: ByteRange = match br_vals.as_deref().map(|v| byterange::check(v, ctx.src)) {
        Some(Ok(br)) => br,
        Some(Err(e)) => {
            r.fail(
                CheckName::ByteRange,
                Indication::Failed,
                SubIndication::FormatFailure,
                e.to_string(),
            );
            return finish(out, r, None);
        }
        None => {
            r.fail(
                CheckName::ByteRange,
                Indication::Failed,
                SubIndication::FormatFailure,
                "missing or malformed /ByteRange",
            );
            return finish(out, r, None);
        }
    };
    done_end = Some(br.end()).or(done_end);
    r.ok(
        CheckName::ByteRange,
        format!("[0 {} {} {}]", br.first_len, br.second_start, br.second_len),
    );
    let contents = match (objects::get(doc, d, b"Contents"), br.gap_contents(ctx.src)) {
        (Some(Object::String(c, _)), Some(gap)) if *c == gap => gap,
        (Some(Object::String(_, _)), Some(_)) => {
            r.fail(
                CheckName::Contents,
                Indication::Failed,
                SubIndication::FormatFailure,
                "/Contents is not the string excluded by /ByteRange",
            );
            return finish(out, r, done_end);
        }
        _ => {
            r.fail(
                CheckName::Contents,
                Indication::Failed,
                SubIndication::FormatFailure,
                "missing /Contents",
            );
            return finish(out, r, done_end);
        }
    };
    let signed = xref_reader::Ranges {
        src: ctx.src,
        ranges: br.ranges().to_vec(),
        prefixes: Some(&ctx.prefixes),
    };
    r.covers_whole_document = br.covers_whole_file(ctx.src);

    if is_doc_ts {
        let ts = timestamp::check(&contents, &signed, &ctx.extra_certs, &ctx.anchors);
        r.timestamp = ts.gen_time.map(fmt_time);
        r.material.document_timestamp = true;
        r.material.timestamp_token = asn1::parse(&contents).ok().map(|(t, _)| t.raw.to_vec());
        if let Some(tsa) = &ts.tsa {
            r.signer = Some(summary(tsa));
            r.material.signer_certificate = Some(tsa.raw.clone());
        }
        if !ts.imprint_ok {
            r.fail(
                CheckName::TimestampImprint,
                Indication::Failed,
                SubIndication::HashFailure,
                ts.notes.join("; "),
            );
        } else if !ts.signature_ok {
            r.fail(
                CheckName::TimestampSignature,
                Indication::Failed,
                SubIndication::SigCryptoFailure,
                ts.notes.join("; "),
            );
        } else if !ts.trusted {
            r.ok(CheckName::Timestamp, "imprint and signature check");
            r.fail(
                CheckName::TimestampChain,
                Indication::Indeterminate,
                SubIndication::NoCertificateChainFound,
                ts.notes.join("; "),
            );
        } else {
            r.ok(
                CheckName::Timestamp,
                "document time-stamp verifies and its authority is trusted",
            );
        }
        out.doc_ts_ok = ts.imprint_ok && ts.signature_ok;
        check_modifications(ctx, &br, &mut r);
        return finish(out, r, done_end);
    }

    // CMS
    let (sd, used) = match signed_data::parse_signed_data(&contents) {
        Ok(x) => x,
        Err(e) => {
            r.fail(
                CheckName::Cms,
                Indication::Failed,
                SubIndication::FormatFailure,
                format!("/Contents: {e}"),
            );
            return finish(out, r, done_end);
        }
    };
    if contents
        .get(used..)
        .is_some_and(|rest| rest.iter().any(|b| *b != 0))
    {
        r.ok(
            CheckName::CmsPadding,
            "non-zero bytes follow the CMS object in /Contents (ignored)",
        );
    }
    if sd.signer_infos.len() != 1 {
        r.fail(
            CheckName::Cms,
            Indication::Failed,
            SubIndication::FormatFailure,
            format!(
                "a PDF signature needs exactly one SignerInfo, found {}",
                sd.signer_infos.len()
            ),
        );
        return finish(out, r, done_end);
    }
    let sha1_wrapped = sub_filter.as_deref() == Some("adbe.pkcs7.sha1");
    let digest_of_ranges;
    let content_parts: Option<[&[u8]; 1]> = if sha1_wrapped {
        // adbe.pkcs7.sha1: the signed content is the SHA-1 digest of the byte ranges.
        digest_of_ranges = signed.digest(crypto::DigestAlg::Sha1);
        if sd.econtent.as_deref() != Some(digest_of_ranges.as_slice()) {
            r.fail(
                CheckName::MessageDigest,
                Indication::Failed,
                SubIndication::HashFailure,
                "the encapsulated SHA-1 digest does not match the signed bytes",
            );
            return finish(out, r, done_end);
        }
        r.fail(
            CheckName::CryptoConstraints,
            Indication::Indeterminate,
            SubIndication::CryptoConstraintsFailure,
            "adbe.pkcs7.sha1 relies on SHA-1",
        );
        Some([digest_of_ranges.as_slice()])
    } else {
        None
    };
    if sd.econtent.is_some() && !sha1_wrapped {
        r.fail(
            CheckName::Cms,
            Indication::Failed,
            SubIndication::FormatFailure,
            "the CMS object encapsulates content; a detached signature is required",
        );
        return finish(out, r, done_end);
    }
    if sd.econtent_type != signed_data::oid::DATA {
        r.fail(
            CheckName::Cms,
            Indication::Failed,
            SubIndication::FormatFailure,
            format!("eContentType {} is not id-data", sd.econtent_type),
        );
        return finish(out, r, done_end);
    }
    r.ok(
        CheckName::Cms,
        format!("SignedData with {} certificate(s)", sd.certificates.len()),
    );
    let Some(si) = sd.signer_infos.first() else {
        return finish(out, r, done_end);
    };
    r.material.signature_value = Some(si.signature.clone());
    let mut pool = certs::parse_all(sd.certificates.iter().copied());
    pool.extend(ctx.extra_certs.iter().cloned());
    let so = match &content_parts {
        Some(parts) => signer::check(&sd, si, &parts[..], &pool),
        None => signer::check(&sd, si, &signed, &pool),
    };
    for (name, step) in &so.steps {
        match step {
            Ok(detail) => r.ok(*name, detail.clone()),
            Err(f) => r.fail(*name, f.ind, f.sub, f.detail.clone()),
        }
    }
    if let Some(t) = so.signing_time {
        r.signing_time = Some(fmt_time(t));
    }
    let claimed = so
        .signing_time
        .or_else(|| match objects::get(doc, d, b"M") {
            Some(Object::String(m, _)) => pdf_date(m),
            _ => None,
        });
    let Some(cert) = so.cert.clone() else {
        check_modifications(ctx, &br, &mut r);
        return finish(out, r, done_end);
    };
    r.signer = Some(summary(&cert));
    r.material.signer_certificate = Some(cert.raw.clone());
    if so
        .steps
        .iter()
        .any(|(_, s)| matches!(s, Err(f) if f.ind == Indication::Failed))
    {
        check_modifications(ctx, &br, &mut r);
        return finish(out, r, done_end);
    }

    // Signature time-stamp.
    let mut poe: Option<i64> = None;
    if let Some(tok) = si
        .unsigned_attrs
        .iter()
        .find(|a| a.oid == signed_data::oid::SIGNATURE_TIMESTAMP)
        .and_then(|a| a.values.first())
    {
        let ts = timestamp::check(tok.raw, &[si.signature.as_slice()][..], &pool, &ctx.anchors);
        r.timestamp = ts.gen_time.map(fmt_time);
        if ts.imprint_ok && ts.signature_ok {
            out.sig_ts_ok = true;
            r.ok(
                CheckName::SignatureTimestamp,
                format!(
                    "imprint matches, token verifies{}",
                    if ts.trusted {
                        ", authority trusted"
                    } else {
                        "; authority not trusted (no proof of existence)"
                    }
                ),
            );
        } else {
            r.checks.push(Check {
                name: CheckName::SignatureTimestamp,
                passed: false,
                detail: format!("ignored: {}", ts.notes.join("; ")),
                indication: None,
                sub_indication: None,
            });
        }
        poe = ts.poe();
        r.material.best_signature_time = poe.map(fmt_time);
    }

    // Certification path.
    let path = match path::build(&cert, &pool, &ctx.anchors) {
        Ok(p) => p,
        Err(path::PathError::NoChain(m)) => {
            r.fail(
                CheckName::CertificateChain,
                Indication::Indeterminate,
                SubIndication::NoCertificateChainFound,
                m,
            );
            check_modifications(ctx, &br, &mut r);
            return finish(out, r, done_end);
        }
    };
    r.ok(
        CheckName::CertificateChain,
        path.certs
            .iter()
            .map(|c| c.subject.clone())
            .collect::<Vec<_>>()
            .join(" → "),
    );
    r.material.certificate_chain = path.certs.iter().map(|c| c.raw.clone()).collect();
    if let Some(a) = path.certs.last() {
        r.trust_anchor = Some(TrustAnchorInfo {
            subject: a.subject.clone(),
            sha256: hex::encode(crypto::DigestAlg::Sha256.digest(&a.raw)),
            source: "supplied as a trust anchor in the validation policy".into(),
            file: None,
            reason: None,
        });
    }
    let violations = path::check_constraints(&path, false);
    if violations.is_empty() {
        r.ok(
            CheckName::ChainConstraints,
            "basicConstraints and keyUsage fit",
        );
    }
    for v in violations {
        r.fail(
            CheckName::ChainConstraints,
            Indication::Indeterminate,
            SubIndication::ChainConstraintsFailure,
            format!("{v:?}"),
        );
    }

    // Revocation: supplied CRLs, /DSS CRLs and OCSP responses, and those inside the CMS and
    // its revocationInfoArchival attribute (all signature-checked; see `revocation`).
    let mut crls = ctx.crls.clone();
    crls.extend(sd.crls.iter().map(|c| c.to_vec()));
    let embedded = revocation::embedded(&sd, si);
    crls.extend(embedded.crls);
    let mut ocsps = ctx.ocsps.clone();
    ocsps.extend(embedded.ocsps);
    let evidence = revocation::Evidence {
        crls: &crls,
        ocsps: &ocsps,
        certs: &pool,
        now: ctx.now,
    };
    let mut signer_status = None;
    for (i, pair) in path.certs.windows(2).enumerate() {
        let (Some(c), Some(issuer)) = (pair.first(), pair.get(1)) else {
            continue;
        };
        let outcome = revocation::check_all(c, issuer, &evidence);
        for note in outcome.notes {
            // Ignored revocation data: noted, never a failure by itself.
            if !r.checks.iter().any(|x| x.detail == note) {
                r.checks.push(Check {
                    name: CheckName::Revocation,
                    passed: false,
                    detail: note,
                    indication: None,
                    sub_indication: None,
                });
            }
        }
        let st = outcome.status;
        match &st {
            RevocationStatus::Good { next_update, .. } => {
                let stale = next_update.is_some_and(|n| n < ctx.now);
                r.ok(
                    CheckName::Revocation,
                    format!(
                        "{} not revoked according to the {}{}",
                        c.subject,
                        outcome.source,
                        if stale { " (past its nextUpdate)" } else { "" }
                    ),
                );
            }
            RevocationStatus::Revoked { date, reason } => {
                let what = format!(
                    "{} revoked on {} ({}{})",
                    c.subject,
                    fmt_time(*date),
                    reason
                        .as_ref()
                        .map(|x| format!("{x}; "))
                        .unwrap_or_default(),
                    outcome.source
                );
                if poe.is_some_and(|p| p < *date) {
                    r.ok(
                        CheckName::Revocation,
                        format!("{what}, after the time-stamp proving the signature existed"),
                    );
                } else if claimed.is_some_and(|t| t < *date) {
                    let sub = if i == 0 {
                        SubIndication::RevokedNoPoe
                    } else {
                        SubIndication::RevokedCaNoPoe
                    };
                    r.fail(
                        CheckName::Revocation,
                        Indication::Indeterminate,
                        sub,
                        format!(
                            "{what}, after the claimed signing time but without proof of existence"
                        ),
                    );
                } else {
                    r.fail(
                        CheckName::Revocation,
                        Indication::Failed,
                        SubIndication::Revoked,
                        what,
                    );
                }
            }
            RevocationStatus::Unknown(m) => {
                r.ok(CheckName::Revocation, format!("not checked: {m}"))
            }
        }
        if i == 0 {
            signer_status = Some(st);
        }
    }

    // Validity periods at the validation time (a trusted time-stamp can stand in for the signer).
    for (i, v) in path::check_validity(&path, ctx.now) {
        let c = path.certs.get(i);
        let covered = poe.is_some_and(|p| c.is_some_and(|c| p >= c.not_before && p <= c.not_after));
        match v {
            path::Violation::Expired(m) if covered => r.ok(
                CheckName::Validity,
                format!("{m}; the time-stamp proves the signature existed before"),
            ),
            path::Violation::Expired(m) => {
                let sub = if i == 0 && matches!(signer_status, Some(RevocationStatus::Good { .. }))
                {
                    SubIndication::OutOfBoundsNotRevoked
                } else {
                    SubIndication::OutOfBoundsNoPoe
                };
                r.fail(CheckName::Validity, Indication::Indeterminate, sub, m);
            }
            path::Violation::NotYetValid(m) => r.fail(
                CheckName::Validity,
                Indication::Indeterminate,
                SubIndication::NotYetValid,
                m,
            ),
            path::Violation::Constraints(m) => r.fail(
                CheckName::Validity,
                Indication::Indeterminate,
                SubIndication::ChainConstraintsFailure,
                m,
            ),
        }
    }
    if let Some(t) = claimed
        && (t + 300 < cert.not_before || t > cert.not_after)
    {
        r.fail(
            CheckName::SigningTime,
            Indication::Indeterminate,
            SubIndication::OutOfBoundsNoPoe,
            format!(
                "claimed signing time {} is outside the signer certificate's validity",
                fmt_time(t)
            ),
        );
    }
    check_modifications(ctx, &br, &mut r);
    finish(out, r, done_end)
}

fn summary(c: &CertInfo) -> SignerSummary {
    SignerSummary {
        subject: c.subject.clone(),
        issuer: c.issuer.clone(),
        serial: c.serial_hex(),
    }
}

fn check_modifications(ctx: &Context<'_>, br: &ByteRange, r: &mut SignatureReport) {
    if r.covers_whole_document {
        r.modification_level = Some(ModificationLevel::None);
        r.ok(CheckName::Coverage, "the signature covers the whole file");
        return;
    }
    let constraint = |r: &mut SignatureReport, detail: String| {
        r.modified_after_signing = true;
        r.fail(
            CheckName::Modifications,
            Indication::Indeterminate,
            SubIndication::SigConstraintsFailure,
            detail,
        );
    };
    r.later_revisions = ctx
        .revisions
        .iter()
        .filter(|x| x.end > br.end())
        .cloned()
        .collect();
    if !br.ends_at_revision(ctx.src) {
        r.modification_level = Some(ModificationLevel::Other);
        constraint(r, "the signed bytes do not end at the end of a revision; the rest of the file is unsigned".into());
        return;
    }
    // A signature usually covers `%%EOF` but not the end of line after it: read the revision
    // at its recorded end, so the document and comparisons made for it are reused.
    let end = ctx
        .revision_ends
        .iter()
        .copied()
        .find(|&e| e >= br.end() && e - br.end() <= 2)
        .unwrap_or(br.end());
    let signed = match ctx.docs.at(end) {
        Ok(d) => d,
        Err(e) => {
            r.modification_level = Some(ModificationLevel::Other);
            constraint(r, format!("the signed revision cannot be read: {e}"));
            return;
        }
    };
    let res = ctx
        .diffs
        .between((end, &signed), (ctx.src.len() as usize, ctx.doc));
    let per_revision = revisions::worst(&r.later_revisions);
    let level = res.level().max(per_revision);
    r.modification_level = Some(level);
    let mut beyond = res.beyond(ctx.permitted);
    if beyond.is_empty() && per_revision > ctx.permitted {
        beyond.push(format!(
            "a later revision makes changes of class {per_revision:?}, beyond what is permitted ({:?})",
            ctx.permitted
        ));
    }
    if beyond.is_empty() {
        r.ok(
            CheckName::Modifications,
            format!(
                "later revisions make changes of class {level:?}, within what is permitted ({:?}; {} signature or validation-data change(s))",
                ctx.permitted, res.allowed
            ),
        );
    } else {
        constraint(r, beyond.join("; "));
    }
}

fn assign_levels(done: &mut [Done], doc: &Document) {
    let has_dss = objects::catalog(doc).is_some_and(|c| c.get(b"DSS").is_ok());
    let ts_ends: Vec<usize> = done
        .iter()
        .filter(|d| d.is_doc_ts && d.doc_ts_ok)
        .filter_map(|d| d.end)
        .collect();
    for d in done.iter_mut() {
        if d.is_doc_ts {
            continue;
        }
        let Some(end) = d.end else { continue };
        let later_ts = ts_ends.iter().any(|e| *e > end);
        let t = d.sig_ts_ok || later_ts;
        let lt = t && has_dss && !d.report.covers_whole_document;
        let lta = lt && later_ts;
        d.report.level = Some(
            match (t, lt, lta) {
                (_, _, true) => "B-LTA",
                (_, true, _) => "B-LT",
                (true, _, _) => "B-T",
                _ => "B-B",
            }
            .to_string(),
        );
    }
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use super::{objects, revisions, signed_data, signer};
    use std::rc::Rc;

    /// Loads `data` as a PDF, finds its signatures and classifies its revisions.
    pub fn pdf(data: &[u8]) {
        if let Ok(doc) = objects::load(data) {
            let found = objects::find_signatures(&doc);
            for f in &found {
                let _ = objects::docmdp_permission(&doc, &f.dict);
            }
            let ends = revisions::ends(&super::xref_reader::Mem(data));
            let _ = revisions::classify(
                &ends,
                data.len(),
                &mut |e| {
                    data.get(..e)
                        .and_then(|p| objects::load(p).ok())
                        .map(Rc::new)
                },
                &mut |a, b| super::diff::compare(a.1, b.1).level(),
                &doc,
            );
        }
    }

    /// Decodes `data` as CMS SignedData and checks its SignerInfos over fixed content.
    pub fn cms(data: &[u8]) {
        if let Ok((sd, _)) = signed_data::parse_signed_data(data) {
            let pool = super::certs::parse_all(sd.certificates.iter().copied());
            for si in sd.signer_infos.iter().take(4) {
                let _ = signer::check(&sd, si, &[b"fuzz".as_slice()][..], &pool);
            }
        }
    }
}
