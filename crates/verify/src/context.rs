//! What the validation of one document shares with the validation of each of its signatures:
//! the validation data, the documents of its revisions (read once each), the comparisons made.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use lopdf::Document;

use crate::pdf::{diff, objects, xref_reader};
use crate::report::{ModificationLevel, RevisionReport, SignatureReport};
use crate::x509::certs::CertInfo;
use crate::xref_reader::Source;

/// Validation data gathered once per document.
pub(crate) struct Context<'a> {
    pub(crate) src: &'a dyn Source,
    pub(crate) doc: &'a Document,
    pub(crate) docs: &'a Docs<'a>,
    pub(crate) anchors: std::sync::Arc<Vec<CertInfo>>,
    pub(crate) extra_certs: Vec<CertInfo>,
    pub(crate) crls: Vec<Vec<u8>>,
    /// OCSP responses from /DSS (DER).
    pub(crate) ocsps: Vec<Vec<u8>>,
    pub(crate) now: i64,
    /// Why the cross-reference data cannot be trusted, if lopdf had to rebuild it.
    pub(crate) xref_repaired: Option<String>,
    /// Every later revision, classified against the one before it.
    pub(crate) revisions: Vec<RevisionReport>,
    /// What the document's certification signature (DocMDP) permits after signing.
    pub(crate) permitted: ModificationLevel,
    /// Digest states of the file's first bytes, shared by nested signatures.
    pub(crate) prefixes: xref_reader::Prefixes,
    /// Comparisons already made, by (earlier end, later end): revision classification and
    /// each signature's modification check ask for some of the same ones.
    pub(crate) diffs: Diffs,
    /// Where each revision ends (after `%%EOF` and its end of line).
    pub(crate) revision_ends: Vec<usize>,
}

/// Remembered document comparisons, keyed by the two revision ends.
#[derive(Default)]
pub(crate) struct Diffs(RefCell<HashMap<(usize, usize), Rc<diff::DiffResult>>>);

impl Diffs {
    /// The changes from `a` to `b` (each: revision end, document), compared once.
    pub(crate) fn between(
        &self,
        a: (usize, &Document),
        b: (usize, &Document),
    ) -> Rc<diff::DiffResult> {
        if let Some(r) = self.0.borrow().get(&(a.0, b.0)) {
            return r.clone();
        }
        let r = Rc::new(diff::compare(a.1, b.1));
        self.0.borrow_mut().insert((a.0, b.0), r.clone());
        r
    }
}

/// The document at each revision end, read lazily (or with lopdf from `full`), cached.
pub(crate) struct Docs<'a> {
    pub(crate) lazy: Option<xref_reader::Reader<'a>>,
    pub(crate) full: Option<&'a [u8]>,
    pub(crate) cache: RefCell<HashMap<usize, Result<Rc<Document>, objects::PdfError>>>,
    /// The lazy reader met something it leaves to lopdf: the verification is redone.
    pub(crate) failed: Cell<bool>,
}

impl Docs<'_> {
    pub(crate) fn at(&self, end: usize) -> Result<Rc<Document>, objects::PdfError> {
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
pub(crate) struct Done {
    pub(crate) report: SignatureReport,
    pub(crate) end: Option<usize>,
    pub(crate) doc_ts_ok: bool,
    pub(crate) is_doc_ts: bool,
    pub(crate) sig_ts_ok: bool,
}
