//! The validation of one document: its revisions, the signatures that exist in it, what every
//! byte after the last signed revision holds, and the levels of the signatures.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::SystemTime;

use lopdf::{Document, Object};

use crate::context::{Context, Diffs, Docs, Done};
use crate::pdf::{accounting, objects, revisions, xref_reader};
use crate::report::{
    CheckName, Indication, ModificationLevel, Report, SignatureReport, SubIndication,
};
use crate::x509::certs;
use crate::x509::revocation;
use crate::xref_reader::Source;
use crate::{ValidationPolicy, fmt_time, signature, unix};

/// `None` when the lazy reader (used when `full` is `None`) leaves the file to lopdf.
pub(crate) fn verify_inner(
    src: &dyn Source,
    full: Option<&[u8]>,
    policy: &ValidationPolicy,
) -> Option<Report> {
    let head = src.bytes(0, 1024).unwrap_or_default();
    // Without a header the file is not a PDF; its signatures are still read and reported
    // (other validators read such files), each FAILED / FORMAT_FAILURE.
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
    let doc = match current_document(&docs, len, no_header) {
        Ok(d) => d,
        Err(outcome) => return outcome,
    };
    let doc: &Document = &doc;
    let mut messages = Vec::new();
    let (dss_certs, dss_crls, dss_ocsps) = dss_data(doc, docs.lazy.as_ref());
    let mut crls = policy.crls.clone();
    crls.extend(dss_crls);
    let (eof_markers, byte_ranges) = scan_markers(src);
    let revision_ends = revisions::ends_at(src, eof_markers);
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
        .map(|f| signature::validate(&ctx, &f.found, f.doc(doc)))
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
    account_for_every_byte(
        src,
        reader,
        &ctx.revision_ends,
        &byte_ranges,
        &mut done,
        &mut messages,
    );
    Some(conclude(done, doc, messages, no_header, ctx.now))
}

/// The offsets of every `%%EOF` marker and every `/ByteRange` key, found in one pass over the
/// file: the revision ends and the signature dictionaries.
fn scan_markers(src: &dyn Source) -> (Vec<u64>, Vec<u64>) {
    let mut scanned = xref_reader::find_each(
        src,
        &[
            (b"%%EOF", revisions::MAX_EOF_MARKERS),
            (b"/ByteRange", MAX_SCANNED),
        ],
    )
    .into_iter();
    (
        scanned.next().unwrap_or_default(),
        scanned.next().unwrap_or_default(),
    )
}

/// The report from the validated signatures: the file-level failures, the rule that a
/// certification forbidding changes wins, the PAdES levels and the blocks of each signature.
fn conclude(
    mut done: Vec<Done>,
    doc: &Document,
    mut messages: Vec<String>,
    no_header: bool,
    now: i64,
) -> Report {
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
    report.validation_time = Some(fmt_time(now));
    report
}

/// What a file without a `%PDF-` header is.
const NO_HEADER: &str = "not a PDF file (no %PDF- header)";

/// The document as it is now (the whole file), or what to answer instead: `Err(None)` when
/// the lazy reader leaves the file to lopdf, `Err(Some(report))` when it cannot be read.
fn current_document(
    docs: &Docs<'_>,
    len: usize,
    no_header: bool,
) -> Result<Rc<Document>, Option<Report>> {
    let failure = |ind, m: String| {
        Err(Some(Report::document_failure(
            ind,
            SubIndication::FormatFailure,
            m,
        )))
    };
    match docs.at(len) {
        Ok(d) => Ok(d),
        Err(_) if docs.failed.get() => Err(None),
        Err(e @ objects::PdfError::Encrypted) => failure(Indication::Indeterminate, e.to_string()),
        Err(_) if no_header => failure(Indication::Failed, NO_HEADER.to_string()),
        Err(e) => failure(Indication::Failed, e.to_string()),
    }
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
            let r = objects::byte_range_values(doc, &f.dict).filter(|_| f.broken.is_none());
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
            let new = match objects::byte_range_values(doc, d) {
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
/// that no reported signature accounts for are noted. `hits` are the offsets of every
/// `/ByteRange` in the file (at most [`MAX_SCANNED`]).
fn account_for_every_byte(
    src: &dyn Source,
    reader: Option<&xref_reader::Reader<'_>>,
    ends: &[usize],
    hits: &[u64],
    done: &mut Vec<Done>,
    messages: &mut Vec<String>,
) {
    let len = src.len();
    let signed_end = done.iter().filter_map(|d| d.end).max().map(|e| e as u64);
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
